// Images as the engine sees them, free of OpenCV types so callers need no OpenCV headers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stego {

// An 8-bit image, rows top to bottom, no padding between rows. Channel order follows OpenCV:
// 1 = gray, 3 = B,G,R, 4 = B,G,R,A. The Image owns its pixels.
struct Image {
  int width = 0;
  int height = 0;
  int channels = 0;
  std::vector<uint8_t> pixels;  // width * height * channels bytes

  static Image Blank(int width, int height, int channels);  // all pixels zero
  size_t pixel_count() const { return static_cast<size_t>(width) * static_cast<size_t>(height); }
  bool has_alpha() const { return channels == 4; }
  int colour_channels() const { return channels == 4 ? 3 : channels; }
};

// The geometry that decides capacity: known from a file header before decoding (see probe.h) or
// from a decoded Image. Alpha does not count: the engine never writes to it.
struct ImageDims {
  int width = 0;
  int height = 0;
  int colour_channels = 0;  // 1 (gray) or 3 (colour)

  static ImageDims Of(const Image& image) { return {image.width, image.height, image.colour_channels()}; }
  // Colour channel bytes: the slots the engine may write low bits into.
  size_t colour_slots() const {
    return static_cast<size_t>(width) * static_cast<size_t>(height) * static_cast<size_t>(colour_channels);
  }
};

enum class ImageFormat { kPng, kBmp, kTiff, kWebp, kJpeg };

// What the engine knows of a format, in one table (image.cc) that every question about formats reads.
struct FormatTraits {
  ImageFormat format;
  std::string_view name;       // "png": the API's and the logs' name
  std::string_view alias;      // another spelling ParseImageFormat accepts ("tif"), or empty
  std::string_view label;      // "PNG": how messages for humans write it
  std::string_view mime_type;  // "image/png"
  std::string_view extension;  // ".png": output file names, and how OpenCV picks its encoder
  bool lossless;               // stores every pixel bit (everything but JPEG): only these carry a payload
  bool keeps_alpha;            // an alpha channel survives encoding (BMP keeps none)
  // Colour under fully transparent pixels survives encoding. OpenCV's lossless WebP lets libwebp
  // rewrite it, which would destroy payload bits there.
  bool keeps_hidden_colour;
};

const FormatTraits& Traits(ImageFormat format);

// "png", "bmp", "tiff"/"tif", "webp", "jpeg"/"jpg", case-insensitive; nullopt for anything else.
std::optional<ImageFormat> ParseImageFormat(std::string_view name);
inline std::string_view FormatName(ImageFormat format) { return Traits(format).name; }            // "png"
inline std::string_view FormatMimeType(ImageFormat format) { return Traits(format).mime_type; }   // "image/png"
inline std::string_view FormatExtension(ImageFormat format) { return Traits(format).extension; }  // ".png"
inline bool IsLossless(ImageFormat format) { return Traits(format).lossless; }

// "png, tiff or webp": the formats whose traits satisfy `suits`, in table order, for a message that
// says what to use instead.
std::string FormatsWhere(bool (*suits)(const FormatTraits&));

}  // namespace stego
