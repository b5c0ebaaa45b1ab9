// libFuzzer target for the payload container reader: stego::Extract over arbitrary pixels.
//
// Input layout: byte 0 chooses the image, the rest fills it.
//   bits 0-1  channels: 1 (gray), 3 (BGR), 4 (BGRA: alpha is skipped), 3
//   bit 2     extract with the password "fuzz" (else none): the encrypted paths, scrypt included
//   bit 3     placed mode: the rest is container bytes, written into a zeroed 32x32 image the way
//             Embed places them (preamble at depth 1 in groups 0-1, the rest front to back at the
//             depth the preamble names). Otherwise raw mode: the rest is the pixels themselves, 32
//             wide and as many rows as fit (at most 32).
// Raw mode is what an attacker controls; placed mode lets the fuzzer write header fields (and, with
// libFuzzer's comparison hints, matching CRCs) directly, so the paths behind the checksums are
// reached too.
//
// For every input it checks:
//   1. no crash, leak or undefined behaviour;
//   2. every refusal is one of the codes Extract documents (embed.h): never kInternal or
//      kInvalidArgument for a well-formed image;
//   3. a success respects the limits: data at most the output limit, filename and MIME type at most
//      255 bytes, depth 1-4, encrypted only with a password and then in the keyed order;
//   4. a success without encryption is reproducible by the writer: Pack and Embed of what came out,
//      into a blank image of the same shape, extracts to the same data, names and depth.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "tests/fuzz/fuzz_check.h"
#include "worker/stego/container.h"
#include "worker/stego/embed.h"
#include "worker/stego/lsb.h"

namespace {

constexpr int kWidth = 32;
constexpr int kMaxHeight = 32;
constexpr std::size_t kMaxOutputBytes = 512;  // small, so the output-limit paths are reachable
constexpr std::string_view kPassword = "fuzz";

struct Options {
  int channels;
  bool with_password;
  bool placed;
};

Options OptionsFrom(std::uint8_t byte) {
  constexpr int kChannels[] = {1, 3, 4, 3};
  return {kChannels[byte & 3], (byte & 4) != 0, (byte & 8) != 0};
}

stego::Image RawImage(int channels, std::span<const std::uint8_t> pixels) {
  const std::size_t row_bytes = static_cast<std::size_t>(kWidth) * static_cast<std::size_t>(channels);
  const int height = static_cast<int>(std::min<std::size_t>(kMaxHeight, pixels.size() / row_bytes));
  stego::Image image = stego::Image::Blank(kWidth, std::max(height, 1), channels);
  std::copy_n(pixels.begin(), std::min(pixels.size(), image.pixels.size()), image.pixels.begin());
  return image;
}

stego::Image PlacedImage(int channels, std::span<const std::uint8_t> container) {
  stego::Image image = stego::Image::Blank(kWidth, kMaxHeight, channels);
  const std::size_t groups = stego::GroupCount(stego::ImageDims::Of(image));
  const std::span<const std::uint8_t> preamble = container.first(std::min(container.size(), stego::kPreambleBytes));
  stego::WriteGroups(image, 1, 0, preamble);
  if (preamble.size() < stego::kPreambleBytes) return image;
  const int depth = std::clamp<int>(preamble[5], stego::kMinLsbBits, stego::kMaxLsbBits);
  const std::size_t room = (groups - stego::kPreambleGroups) * stego::GroupBytes(depth);
  const std::span<const std::uint8_t> rest = container.subspan(stego::kPreambleBytes);
  stego::WriteGroups(image, depth, stego::kPreambleGroups, rest.first(std::min(rest.size(), room)));
  return image;
}

bool DocumentedRefusal(stego::ErrorCode code) {
  using stego::ErrorCode;
  switch (code) {
    case ErrorCode::kNoPayload:
    case ErrorCode::kBadMagic:
    case ErrorCode::kUnsupportedVersion:
    case ErrorCode::kTruncatedPayload:
    case ErrorCode::kCrcMismatch:
    case ErrorCode::kPasswordRequired:
    case ErrorCode::kWrongPassword:
    case ErrorCode::kCorruptPayload:
    case ErrorCode::kOutputTooLarge:
      return true;
    default:
      return false;
  }
}

void CheckLimits(const stego::Extracted& out, const Options& options) {
  FUZZ_CHECK(out.data.size() <= kMaxOutputBytes);
  FUZZ_CHECK(out.filename.size() <= stego::kMaxNameBytes && out.mime.size() <= stego::kMaxNameBytes);
  FUZZ_CHECK(out.lsb_bits >= stego::kMinLsbBits && out.lsb_bits <= stego::kMaxLsbBits);
  FUZZ_CHECK(!out.encrypted || options.with_password);
  FUZZ_CHECK(out.keyed_order == out.encrypted);
}

// What was read back is something the writer can write: embed it again and read it again.
void CheckRewritable(const stego::Extracted& out, const stego::Image& shape) {
  stego::EmbedOptions embed;
  embed.lsb_bits = out.lsb_bits;
  embed.filename = out.filename;
  embed.mime = out.mime;
  auto packed = stego::Pack(out.data, embed);
  FUZZ_CHECK(packed.has_value());
  stego::Image cover = stego::Image::Blank(shape.width, shape.height, shape.channels);
  auto report = stego::Embed(cover, *packed);
  if (!report) {
    FUZZ_CHECK(report.error().code == stego::ErrorCode::kCapacityExceeded);  // the reader's image was fuller
    return;
  }
  auto again = stego::Extract(cover, {}, kMaxOutputBytes);
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(again->data == out.data && again->filename == out.filename && again->mime == out.mime);
  FUZZ_CHECK(again->lsb_bits == out.lsb_bits);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const Options options = OptionsFrom(data[0]);
  const std::span<const std::uint8_t> rest(data + 1, size - 1);
  const stego::Image image = options.placed ? PlacedImage(options.channels, rest) : RawImage(options.channels, rest);
  const std::string_view password = options.with_password ? kPassword : std::string_view();

  const stego::Result<stego::Extracted> out = stego::Extract(image, password, kMaxOutputBytes);
  if (!out) {
    FUZZ_CHECK(DocumentedRefusal(out.error().code));
    return 0;
  }
  CheckLimits(*out, options);
  if (!out->encrypted) CheckRewritable(*out, image);
  return 0;
}
