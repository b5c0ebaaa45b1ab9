#include "worker/stego/codec.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <climits>
#include <string>
#include <utility>

#include "worker/stego/png_writer.h"

namespace stego {
namespace {

Result<Image> ToImage(const cv::Mat& decoded, const ImageInfo& info) {
  cv::Mat eight_bit;
  if (decoded.depth() == CV_16U) {
    decoded.convertTo(eight_bit, CV_8U, 1.0 / 257.0);  // 65535 -> 255, rounding to nearest
  } else if (decoded.depth() == CV_8U) {
    eight_bit = decoded;
  } else {
    return Fail(ErrorCode::kUnsupportedImage, std::string(FormatName(info.format)) +
                                                  " image has a sample format other than 8 or 16-bit integers");
  }
  const int channels = eight_bit.channels();
  if (channels != 1 && channels != 3 && channels != 4) {
    return Fail(ErrorCode::kUnsupportedImage, "decoded image has " + std::to_string(channels) + " channels");
  }
  // A header that lied about the size is refused: the pixel limit was checked on the header's figures.
  // (Pixel counts, not sizes, are compared: a JPEG's EXIF orientation may swap width and height.)
  if (static_cast<uint64_t>(eight_bit.total()) != info.pixel_count()) {
    return Fail(ErrorCode::kUnsupportedImage, "decoded size differs from the size in the image header");
  }
  Image image = Image::Blank(eight_bit.cols, eight_bit.rows, channels);
  const size_t row_bytes = static_cast<size_t>(eight_bit.cols) * static_cast<size_t>(channels);
  for (int y = 0; y < eight_bit.rows; ++y) {
    std::copy_n(eight_bit.ptr<uint8_t>(y), row_bytes, image.pixels.data() + static_cast<size_t>(y) * row_bytes);
  }
  return image;
}

// What to suggest instead of a format that would lose bits: those that keep what it loses.
bool KeepsEveryBit(const FormatTraits& t) { return t.lossless; }
bool KeepsAlpha(const FormatTraits& t) { return t.lossless && t.keeps_alpha; }
bool KeepsHiddenColour(const FormatTraits& t) { return KeepsAlpha(t) && t.keeps_hidden_colour; }

bool AnyAlpha(const Image& image, bool (*pred)(uint8_t)) {
  if (!image.has_alpha()) return false;
  for (size_t i = 3; i < image.pixels.size(); i += 4) {
    if (pred(image.pixels[i])) return true;
  }
  return false;
}

Result<std::vector<uint8_t>> EncodeWithOpenCv(const Image& image, ImageFormat format) {
  std::vector<int> params;
  if (format == ImageFormat::kWebp) params = {cv::IMWRITE_WEBP_QUALITY, 101};  // above 100 = lossless
  const cv::Mat mat(image.height, image.width, CV_8UC(image.channels), const_cast<uint8_t*>(image.pixels.data()));
  std::vector<uint8_t> out;
  try {
    if (cv::imencode(std::string(FormatExtension(format)), mat, out, params)) return out;
  } catch (const cv::Exception& e) {
    return Fail(ErrorCode::kInternal, std::string(FormatName(format)) + " encoder failed: " + e.what());
  }
  return Fail(ErrorCode::kInternal, std::string(FormatName(format)) + " encoder failed");
}

}  // namespace

Result<void> CheckLimits(const ImageInfo& info, const DecodeLimits& limits) {
  if (info.pixel_count() > limits.max_pixels) {
    return Fail(ErrorCode::kImageTooLarge, std::to_string(info.width) + "x" + std::to_string(info.height) + " is " +
                                               std::to_string(info.pixel_count()) + " pixels; the limit is " +
                                               std::to_string(limits.max_pixels));
  }
  return {};
}

Result<void> CheckLossless(ImageFormat format) {
  if (IsLossless(format)) return {};
  return Fail(ErrorCode::kLossyOutput, std::string(Traits(format).label) +
                                           " output is lossy and would destroy the payload; use " +
                                           FormatsWhere(KeepsEveryBit));
}

Result<ImageInfo> ProbeWithinLimits(std::span<const uint8_t> bytes, const DecodeLimits& limits) {
  Result<ImageInfo> info = ProbeImage(bytes);
  if (!info) return info;
  if (Result<void> ok = CheckLimits(*info, limits); !ok) return common::Unexpected{std::move(ok).error()};
  return info;
}

Result<Image> DecodeImage(std::span<const uint8_t> bytes, const DecodeLimits& limits) {
  Result<ImageInfo> info = ProbeWithinLimits(bytes, limits);
  if (!info) return common::Unexpected{std::move(info).error()};

  if (bytes.size() > static_cast<size_t>(INT_MAX)) return Fail(ErrorCode::kImageTooLarge, "image file over 2 GiB");
  // imdecode only reads its input; the Mat header merely wraps the caller's bytes.
  const cv::Mat encoded(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<uint8_t*>(bytes.data()));
  cv::Mat decoded;
  try {
    // Every channel is kept (alpha too), except that JPEG, which has no alpha, is read so that OpenCV
    // applies its EXIF orientation: the stego output, which carries no EXIF, then looks like the photo.
    decoded = cv::imdecode(encoded, info->format == ImageFormat::kJpeg ? cv::IMREAD_ANYCOLOR : cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    return Fail(ErrorCode::kUnsupportedImage, std::string(FormatName(info->format)) + " decoder failed: " + e.what());
  }
  if (decoded.empty()) {
    return Fail(ErrorCode::kUnsupportedImage,
                std::string(FormatName(info->format)) + " image could not be decoded (corrupt or truncated)");
  }
  return ToImage(decoded, *info);
}

Result<std::vector<uint8_t>> EncodeImage(const Image& image, ImageFormat format) {
  if (image.width <= 0 || image.height <= 0 || (image.channels != 1 && image.channels != 3 && image.channels != 4) ||
      image.pixels.size() != image.pixel_count() * static_cast<size_t>(image.channels)) {
    return Fail(ErrorCode::kInvalidArgument, "cannot encode an empty or inconsistent image");
  }
  if (Result<void> ok = CheckLossless(format); !ok) return common::Unexpected{std::move(ok).error()};
  const FormatTraits& traits = Traits(format);
  if (!traits.keeps_alpha && AnyAlpha(image, [](uint8_t a) { return a != 255; })) {
    return Fail(ErrorCode::kLossyOutput, std::string(traits.label) +
                                             " output would drop the image's transparency; use " +
                                             FormatsWhere(KeepsAlpha));
  }
  if (!traits.keeps_hidden_colour && AnyAlpha(image, [](uint8_t a) { return a == 0; })) {
    return Fail(ErrorCode::kLossyOutput, "lossless " + std::string(traits.label) +
                                             " rewrites colour under fully transparent pixels, which would destroy "
                                             "payload bits there; use " + FormatsWhere(KeepsHiddenColour));
  }
  if (format == ImageFormat::kPng) return WritePng(image);
  return EncodeWithOpenCv(image, format);
}

Result<std::vector<uint8_t>> EncodeImage(const PngTemplate& cover, const Image& top, ImageFormat format) {
  if (format == ImageFormat::kPng) return cover.Write(top);
  const Image& base = cover.image();
  if (top.width != base.width || top.channels != base.channels || top.height > base.height) {
    return Fail(ErrorCode::kInvalidArgument, "the changed rows do not fit the cover");
  }
  Image whole = base;
  std::copy(top.pixels.begin(), top.pixels.end(), whole.pixels.begin());
  return EncodeImage(whole, format);
}

}  // namespace stego
