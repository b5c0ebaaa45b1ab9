#include "worker/stego/image.h"

#include <algorithm>
#include <cctype>
#include <string>

namespace stego {

Image Image::Blank(int width, int height, int channels) {
  Image image{width, height, channels, {}};
  image.pixels.assign(image.pixel_count() * static_cast<size_t>(channels), 0);
  return image;
}

std::optional<ImageFormat> ParseImageFormat(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "png") return ImageFormat::kPng;
  if (lower == "bmp") return ImageFormat::kBmp;
  if (lower == "tiff" || lower == "tif") return ImageFormat::kTiff;
  if (lower == "webp") return ImageFormat::kWebp;
  if (lower == "jpeg" || lower == "jpg") return ImageFormat::kJpeg;
  return std::nullopt;
}

std::string_view FormatName(ImageFormat format) {
  switch (format) {
    case ImageFormat::kPng: return "png";
    case ImageFormat::kBmp: return "bmp";
    case ImageFormat::kTiff: return "tiff";
    case ImageFormat::kWebp: return "webp";
    case ImageFormat::kJpeg: return "jpeg";
  }
  return "unknown";
}

std::string_view FormatMimeType(ImageFormat format) {
  switch (format) {
    case ImageFormat::kPng: return "image/png";
    case ImageFormat::kBmp: return "image/bmp";
    case ImageFormat::kTiff: return "image/tiff";
    case ImageFormat::kWebp: return "image/webp";
    case ImageFormat::kJpeg: return "image/jpeg";
  }
  return "application/octet-stream";
}

std::string_view FormatExtension(ImageFormat format) {
  switch (format) {
    case ImageFormat::kPng: return ".png";
    case ImageFormat::kBmp: return ".bmp";
    case ImageFormat::kTiff: return ".tiff";
    case ImageFormat::kWebp: return ".webp";
    case ImageFormat::kJpeg: return ".jpg";
  }
  return "";
}

bool IsLossless(ImageFormat format) { return format != ImageFormat::kJpeg; }

}  // namespace stego
