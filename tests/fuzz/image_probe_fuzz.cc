// libFuzzer target for the image header probe (worker/stego/probe.h): PNG, BMP, JPEG, WebP, TIFF.
//
// The probe runs on every upload before any decoding, so it sees hostile bytes first. For every
// input it checks:
//   1. no crash, out-of-bounds read (libFuzzer hands over an exactly sized heap copy, so ASan sees
//      one byte past the end), leak or undefined behaviour;
//   2. a refusal is always kUnsupportedImage, with a message;
//   3. an accepted header is the format its magic bytes name, with a size of 1..INT_MAX in each
//      direction, 1 or 3 colour channels, and alpha only beside colour (OpenCV decodes a gray image
//      with alpha to BGRA);
//   4. the answer depends on the bytes alone: a second probe of a copy gives the same answer.
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include "tests/fuzz/fuzz_check.h"
#include "worker/stego/probe.h"

namespace {

bool StartsWith(std::span<const std::uint8_t> bytes, const char* magic, std::size_t offset = 0) {
  const std::size_t n = std::strlen(magic);
  return bytes.size() >= offset + n && std::memcmp(bytes.data() + offset, magic, n) == 0;
}

// The format the probe must report for these magic bytes, in the probe's own order of tests.
std::optional<stego::ImageFormat> FormatByMagic(std::span<const std::uint8_t> bytes) {
  if (StartsWith(bytes, "\x89PNG\r\n\x1A\n")) return stego::ImageFormat::kPng;
  if (StartsWith(bytes, "BM")) return stego::ImageFormat::kBmp;
  if (StartsWith(bytes, "\xFF\xD8")) return stego::ImageFormat::kJpeg;
  if (StartsWith(bytes, "RIFF") && StartsWith(bytes, "WEBP", 8)) return stego::ImageFormat::kWebp;
  if (bytes.size() >= 8 && (StartsWith(bytes, "II") || StartsWith(bytes, "MM"))) return stego::ImageFormat::kTiff;
  return std::nullopt;
}

void CheckAccepted(const stego::ImageInfo& info, std::span<const std::uint8_t> bytes) {
  FUZZ_CHECK(FormatByMagic(bytes) == info.format);
  FUZZ_CHECK(info.width >= 1 && info.width <= INT_MAX);
  FUZZ_CHECK(info.height >= 1 && info.height <= INT_MAX);
  FUZZ_CHECK(info.colour_channels == 1 || info.colour_channels == 3);
  FUZZ_CHECK(!info.has_alpha || info.colour_channels == 3);
  FUZZ_CHECK(info.pixel_count() == static_cast<std::uint64_t>(info.width) * static_cast<std::uint64_t>(info.height));
}

bool SameAnswer(const stego::Result<stego::ImageInfo>& a, const stego::Result<stego::ImageInfo>& b) {
  if (a.has_value() != b.has_value()) return false;
  if (!a) return a.error().code == b.error().code && a.error().message == b.error().message;
  return a->format == b->format && a->width == b->width && a->height == b->height &&
         a->colour_channels == b->colour_channels && a->has_alpha == b->has_alpha;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  const stego::Result<stego::ImageInfo> info = stego::ProbeImage(bytes);
  if (info) {
    CheckAccepted(*info, bytes);
  } else {
    FUZZ_CHECK(info.error().code == stego::ErrorCode::kUnsupportedImage);
    FUZZ_CHECK(!info.error().message.empty());
  }
  const std::vector<std::uint8_t> copy(bytes.begin(), bytes.end());
  FUZZ_CHECK(SameAnswer(info, stego::ProbeImage(copy)));
  return 0;
}
