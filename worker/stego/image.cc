#include "worker/stego/image.h"

#include <algorithm>
#include <cctype>
#include <iterator>
#include <string>

namespace stego {

Image Image::Blank(int width, int height, int channels) {
  Image image{width, height, channels, {}};
  image.pixels.assign(image.pixel_count() * static_cast<size_t>(channels), 0);
  return image;
}

namespace {

// In ImageFormat's order, so that Traits indexes it.
constexpr FormatTraits kFormats[] = {
    {ImageFormat::kPng, "png", "", "PNG", "image/png", ".png", true, true, true},
    {ImageFormat::kBmp, "bmp", "", "BMP", "image/bmp", ".bmp", true, false, true},
    {ImageFormat::kTiff, "tiff", "tif", "TIFF", "image/tiff", ".tiff", true, true, true},
    {ImageFormat::kWebp, "webp", "", "WebP", "image/webp", ".webp", true, true, false},
    {ImageFormat::kJpeg, "jpeg", "jpg", "JPEG", "image/jpeg", ".jpg", false, false, true},
};

constexpr bool InEnumOrder() {
  for (size_t i = 0; i < std::size(kFormats); ++i) {
    if (static_cast<size_t>(kFormats[i].format) != i) return false;
  }
  return true;
}
static_assert(InEnumOrder(), "kFormats must list every ImageFormat in declaration order");

}  // namespace

const FormatTraits& Traits(ImageFormat format) { return kFormats[static_cast<size_t>(format)]; }

std::optional<ImageFormat> ParseImageFormat(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const FormatTraits& traits : kFormats) {
    if (lower == traits.name || (!traits.alias.empty() && lower == traits.alias)) return traits.format;
  }
  return std::nullopt;
}

std::string FormatsWhere(bool (*suits)(const FormatTraits&)) {
  std::vector<std::string_view> names;
  for (const FormatTraits& traits : kFormats) {
    if (suits(traits)) names.push_back(traits.name);
  }
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " or " : ", ";
    out += names[i];
  }
  return out;
}

}  // namespace stego
