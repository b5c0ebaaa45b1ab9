// Images as the engine sees them, free of OpenCV types so callers need no OpenCV headers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
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

// "png", "bmp", "tiff"/"tif", "webp", "jpeg"/"jpg", case-insensitive; nullopt for anything else.
std::optional<ImageFormat> ParseImageFormat(std::string_view name);
std::string_view FormatName(ImageFormat format);       // "png"
std::string_view FormatMimeType(ImageFormat format);   // "image/png"
std::string_view FormatExtension(ImageFormat format);  // ".png"
// Whether the format stores every pixel bit (everything but JPEG); only those can carry a payload.
bool IsLossless(ImageFormat format);

}  // namespace stego
