// Embed and Extract end to end: round trips over sizes, depths, layouts, passwords and output
// formats, and each extraction failure with its own error code.
#include "worker/stego/engine.h"

#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "tests/unit/stego/test_util.h"
#include "worker/stego/container.h"
#include "worker/stego/lsb.h"

namespace stego {
namespace {

using testing::Cover;
using testing::EmbedOrDie;
using testing::Options;
using testing::RandomData;
using testing::TextData;

constexpr size_t kNoLimit = size_t{1} << 40;

Extracted ExtractOrDie(const Image& image, std::string_view password = {}) {
  Result<Extracted> extracted = Extract(image, password, kNoLimit);
  EXPECT_TRUE(extracted.has_value()) << extracted.error().message;
  return extracted.has_value() ? *extracted : Extracted{};
}

ErrorCode ExtractError(const Image& image, std::string_view password = {}, size_t limit = kNoLimit) {
  Result<Extracted> extracted = Extract(image, password, limit);
  EXPECT_FALSE(extracted.has_value());
  return extracted.has_value() ? ErrorCode::kInternal : extracted.error().code;
}

// Every colour byte keeps its bits above `depth`; alpha is identical.
void ExpectOnlyLowBitsChanged(const Image& cover, const Image& stego, int depth) {
  ASSERT_EQ(cover.pixels.size(), stego.pixels.size());
  for (size_t i = 0; i < cover.pixels.size(); ++i) {
    const bool alpha = cover.channels == 4 && i % 4 == 3;
    ASSERT_EQ((cover.pixels[i] ^ stego.pixels[i]) >> (alpha ? 0 : depth), 0) << "byte " << i;
  }
}

// ---- Round trips ------------------------------------------------------------------------------

struct RoundTripCase {
  int channels;
  int bits;
  bool password;
};

class RoundTrip : public ::testing::TestWithParam<RoundTripCase> {};

TEST_P(RoundTrip, SizesFromEmptyToExactCapacity) {
  const RoundTripCase c = GetParam();
  const std::string password = c.password ? "correct horse" : "";
  const Image cover = Cover(48, 40, c.channels, 11);
  const size_t capacity = *MaxDataBytes({ImageDims::Of(cover), c.bits, c.password, 0, 0});
  ASSERT_GT(capacity, 100u);
  for (size_t size : {size_t{0}, size_t{1}, capacity / 2, capacity}) {
    SCOPED_TRACE("size " + std::to_string(size));
    Image stego = cover;
    const std::vector<uint8_t> data = RandomData(size, size + 1);
    const EmbedReport report = EmbedOrDie(stego, data, Options(c.bits, password));
    EXPECT_EQ(report.capacity_bytes, capacity);
    EXPECT_EQ(report.encrypted, c.password);
    EXPECT_EQ(report.keyed_order, c.password);
    ExpectOnlyLowBitsChanged(cover, stego, c.bits);
    const Extracted out = ExtractOrDie(stego, password);
    EXPECT_EQ(out.data, data);
    EXPECT_EQ(out.lsb_bits, c.bits);
    EXPECT_EQ(out.encrypted, c.password);
  }
  Image stego = cover;
  Result<PackedPayload> over = Pack(RandomData(capacity + 1, 3), Options(c.bits, password));
  ASSERT_TRUE(over.has_value());
  Result<EmbedReport> refused = Embed(stego, *over);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::kCapacityExceeded);
  EXPECT_EQ(refused.error().needed_bytes, refused.error().available_bytes + 1);
  EXPECT_EQ(stego.pixels, cover.pixels) << "a refused embed must not touch the cover";
}

std::vector<RoundTripCase> AllRoundTripCases() {
  std::vector<RoundTripCase> cases;
  for (int channels : {1, 3, 4}) {
    for (int bits = 1; bits <= 4; ++bits) {
      for (bool password : {false, true}) cases.push_back({channels, bits, password});
    }
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Layouts, RoundTrip, ::testing::ValuesIn(AllRoundTripCases()), [](const auto& info) {
  return std::to_string(info.param.channels) + "ch_" + std::to_string(info.param.bits) + "bit_" +
         (info.param.password ? "password" : "plain");
});

TEST(Embed, KeepsFilenameAndMime) {
  Image stego = Cover(64, 64, 3);
  EmbedOptions options = Options(2, "pw");
  options.filename = "notes.txt";
  options.mime = "text/plain";
  EmbedOrDie(stego, TextData(500), options);
  const Extracted out = ExtractOrDie(stego, "pw");
  EXPECT_EQ(out.filename, "notes.txt");
  EXPECT_EQ(out.mime, "text/plain");
  EXPECT_EQ(out.data, TextData(500));
}

TEST(Embed, CompressesOnlyWhenSmaller) {
  Image text_cover = Cover(64, 64, 3);
  const EmbedReport text = EmbedOrDie(text_cover, TextData(1000), Options(1));
  EXPECT_TRUE(text.compressed);
  EXPECT_LT(text.stored_bytes, 300u);
  EXPECT_TRUE(ExtractOrDie(text_cover).compressed);
  EXPECT_EQ(ExtractOrDie(text_cover).data, TextData(1000));

  Image random_cover = Cover(64, 64, 3);
  const EmbedReport random = EmbedOrDie(random_cover, RandomData(1000, 1), Options(1));
  EXPECT_FALSE(random.compressed);
  EXPECT_EQ(random.stored_bytes, 1002u);  // the record: two length bytes and the data
  EXPECT_EQ(random.container_bytes, kPreambleBytes + HeaderBytes(false) + 1002u);
}

// Large records are sampled before the slow deflate pass: already-compressed files skip it, but a
// file with a compressible part anywhere is still deflated.
TEST(Pack, LargeRecordsAreDeflatedWhenAnyPartShrinks) {
  EXPECT_FALSE(Pack(RandomData(300'000, 1), Options(1))->compressed);
  EXPECT_TRUE(Pack(TextData(300'000), Options(1))->compressed);
  std::vector<uint8_t> mixed = RandomData(300'000, 2);
  const std::vector<uint8_t> text = TextData(100'000);
  std::copy(text.begin(), text.end(), mixed.begin() + 200'000);
  const Result<PackedPayload> packed = Pack(mixed, Options(1));
  EXPECT_TRUE(packed->compressed);
  EXPECT_LT(packed->body.size(), 250'000u);
}

TEST(Embed, RefusesBadOptions) {
  EXPECT_EQ(Pack(TextData(10), Options(0)).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(Pack(TextData(10), Options(5)).error().code, ErrorCode::kInvalidArgument);
  EmbedOptions long_name = Options(1);
  long_name.filename.assign(256, 'x');
  EXPECT_EQ(Pack(TextData(10), long_name).error().code, ErrorCode::kInvalidArgument);
  EmbedOptions costly = Options(1, "pw");
  costly.scrypt_log2n = 24;
  EXPECT_EQ(Pack(TextData(10), costly).error().code, ErrorCode::kInvalidArgument);
}

TEST(Embed, PasswordScattersTheBodyWhilePlainStaysInFront) {
  const Image cover = Cover(128, 128, 3);
  const size_t half = cover.pixels.size() / 2;
  auto changed_beyond_half = [&](const Image& stego) {
    for (size_t i = half; i < stego.pixels.size(); ++i) {
      if (stego.pixels[i] != cover.pixels[i]) return true;
    }
    return false;
  };
  Image plain = cover;
  EmbedOrDie(plain, RandomData(200, 1), Options(1));
  EXPECT_FALSE(changed_beyond_half(plain));
  Image keyed = cover;
  EmbedOrDie(keyed, RandomData(200, 1), Options(1, "pw"));
  EXPECT_TRUE(changed_beyond_half(keyed));
}

TEST(Embed, SamePasswordTwiceUsesFreshSaltAndNonce) {
  Image a = Cover(64, 64, 3), b = Cover(64, 64, 3);
  EmbedOrDie(a, TextData(100), Options(1, "pw"));
  EmbedOrDie(b, TextData(100), Options(1, "pw"));
  EXPECT_NE(a.pixels, b.pixels);
  EXPECT_EQ(ExtractOrDie(a, "pw").data, ExtractOrDie(b, "pw").data);
}

// EmbedRows copies only the rows the payload reaches; over the untouched cover they are exactly
// what Embed writes, and the result extracts.
TEST(EmbedRows, WritesWhatEmbedWritesIntoOnlyTheRowsItReaches) {
  for (int channels : {1, 3, 4}) {
    for (int depth : {1, 3}) {
      const Image cover = Cover(97, 61, channels, 5);
      const PackedPayload packed = *Pack(RandomData(300, 2), Options(depth));
      Result<StegoRows> rows = EmbedRows(cover, packed);
      ASSERT_TRUE(rows.has_value()) << rows.error().message;
      Image whole = cover;
      const Result<EmbedReport> report = Embed(whole, packed);
      ASSERT_TRUE(report.has_value());
      EXPECT_EQ(rows->report.container_bytes, report->container_bytes);
      ASSERT_LT(rows->top.height, cover.height) << "a small payload reaches only the first rows";
      ASSERT_EQ(rows->top.width, cover.width);
      Image composed = cover;
      std::copy(rows->top.pixels.begin(), rows->top.pixels.end(), composed.pixels.begin());
      EXPECT_EQ(composed.pixels, whole.pixels) << channels << " channels, depth " << depth;
      // One row fewer would have cut the payload: the rows reached are the fewest that hold it.
      const size_t kept = static_cast<size_t>(rows->top.height - 1) * static_cast<size_t>(cover.width) *
                          static_cast<size_t>(cover.channels);
      EXPECT_FALSE(std::equal(cover.pixels.begin() + static_cast<std::ptrdiff_t>(kept),
                              cover.pixels.begin() + static_cast<std::ptrdiff_t>(rows->top.pixels.size()),
                              rows->top.pixels.begin() + static_cast<std::ptrdiff_t>(kept)));
      EXPECT_EQ(ExtractOrDie(composed).data, RandomData(300, 2));
    }
  }
}

TEST(EmbedRows, APasswordReachesEveryRow) {
  const Image cover = Cover(64, 64, 3);
  Result<StegoRows> rows = EmbedRows(cover, *Pack(TextData(100), Options(1, "pw")));
  ASSERT_TRUE(rows.has_value());
  EXPECT_EQ(rows->top.height, cover.height);
  EXPECT_EQ(ExtractOrDie(rows->top, "pw").data, TextData(100));
}

TEST(EmbedRows, RefusesWhatEmbedRefuses) {
  const Image cover = Cover(32, 32, 3);
  EXPECT_EQ(EmbedRows(cover, *Pack(RandomData(5000, 1), Options(1))).error().code, ErrorCode::kCapacityExceeded);
  EXPECT_EQ(EmbedRows(Image{}, *Pack(TextData(1), Options(1))).error().code, ErrorCode::kInvalidArgument);
}

// ---- Extraction errors ------------------------------------------------------------------------

TEST(Extract, PasswordErrors) {
  Image stego = Cover(64, 64, 3);
  EmbedOrDie(stego, TextData(300), Options(1, "right"));
  EXPECT_EQ(ExtractError(stego, ""), ErrorCode::kPasswordRequired);
  EXPECT_EQ(ExtractError(stego, "wrong"), ErrorCode::kWrongPassword);
  EXPECT_EQ(ExtractOrDie(stego, "right").data, TextData(300));
}

TEST(Extract, PasswordIsIgnoredForPlainPayloads) {
  Image stego = Cover(64, 64, 3);
  EmbedOrDie(stego, TextData(30), Options(1));
  EXPECT_EQ(ExtractOrDie(stego, "unneeded").data, TextData(30));
}

TEST(Extract, CleanCoverHasNoPayload) {
  EXPECT_EQ(ExtractError(Cover(64, 64, 3)), ErrorCode::kNoPayload);
  EXPECT_EQ(ExtractError(Cover(64, 64, 1)), ErrorCode::kNoPayload);
  EXPECT_EQ(ExtractError(Cover(2, 2, 3)), ErrorCode::kNoPayload);  // too small for a preamble
}

TEST(Extract, DamagedMagicIsBadMagic) {
  Image stego = Cover(64, 64, 3);
  EmbedOrDie(stego, TextData(30), Options(1));
  Image one = stego;
  one.pixels[0] ^= 1;  // magic byte 0 lives in the low bits of slots 0-7
  EXPECT_EQ(ExtractError(one), ErrorCode::kBadMagic);
  Image two = one;
  two.pixels[8] ^= 1;  // and byte 1 in slots 8-15
  EXPECT_EQ(ExtractError(two), ErrorCode::kBadMagic);
  Image three = two;
  three.pixels[16] ^= 1;
  EXPECT_EQ(ExtractError(three), ErrorCode::kNoPayload);
}

TEST(Extract, NewerVersionIsUnsupported) {
  Image stego = Cover(64, 64, 3);
  EmbedOrDie(stego, TextData(30), Options(1));
  const std::array<uint8_t, kPreambleBytes> newer = {kMagic[0], kMagic[1], kMagic[2], kMagic[3], 2, 1};
  WriteGroups(stego, 1, 0, newer);
  EXPECT_EQ(ExtractError(stego), ErrorCode::kUnsupportedVersion);
}

TEST(Extract, FlippedBodyBitIsCrcMismatch) {
  for (const std::string password : {"", "pw"}) {
    Image stego = Cover(64, 64, 3);
    // Exactly full, so every body group is used whatever the keyed order.
    EmbedOrDie(stego, RandomData(*MaxDataBytes({ImageDims::Of(stego), 1, !password.empty(), 0, 0}), 2),
               Options(1, password));
    const Regions regions = LayoutRegions(ImageDims::Of(stego), 1, !password.empty());
    stego.pixels[regions.body_first * kSlotsPerGroup + 1000] ^= 1;
    EXPECT_EQ(ExtractError(stego, password), ErrorCode::kCrcMismatch) << "password '" << password << "'";
  }
}

TEST(Extract, FlippedHeaderBitIsCrcMismatch) {
  Image stego = Cover(64, 64, 3);
  EmbedOrDie(stego, RandomData(100, 2), Options(2));
  stego.pixels[kPreambleGroups * kSlotsPerGroup + 30] ^= 2;  // a header slot, second bit
  EXPECT_EQ(ExtractError(stego), ErrorCode::kCrcMismatch);
}

TEST(Extract, CroppedImageIsTruncated) {
  Image stego = Cover(64, 64, 3);
  EmbedOrDie(stego, RandomData(1200, 3), Options(1));
  // Through a real file, as a user would crop it: keep the top half.
  Result<std::vector<uint8_t>> png = EncodeImage(stego, ImageFormat::kPng);
  ASSERT_TRUE(png.has_value());
  Result<Image> decoded = DecodeImage(*png);
  ASSERT_TRUE(decoded.has_value());
  Image cropped = *decoded;
  cropped.height = 32;
  cropped.pixels.resize(cropped.pixel_count() * 3);
  Result<Extracted> extracted = Extract(cropped, "", kNoLimit);
  ASSERT_FALSE(extracted.has_value());
  EXPECT_EQ(extracted.error().code, ErrorCode::kTruncatedPayload);
  EXPECT_EQ(extracted.error().needed_bytes, 1202u);
  EXPECT_EQ(extracted.error().available_bytes, BodyCapacity({64, 32, 3}, 1, false));
}

TEST(Extract, OutputLimitIsCheckedBeforeInflating) {
  Image stego = Cover(64, 64, 3);
  EmbedOrDie(stego, TextData(100000), Options(1));  // a small body that inflates to 100 kB
  EXPECT_EQ(ExtractError(stego, "", 10000), ErrorCode::kOutputTooLarge);
  Result<Extracted> exact = Extract(stego, "", 100000);
  ASSERT_TRUE(exact.has_value());
  EXPECT_EQ(exact->data.size(), 100000u);
  EXPECT_EQ(ExtractError(stego, "", 99999), ErrorCode::kOutputTooLarge);
}

TEST(Extract, RefusesMalformedImages) {
  Image broken = Cover(8, 8, 3);
  broken.pixels.pop_back();
  EXPECT_EQ(ExtractError(broken), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Embed(broken, *Pack(TextData(1), Options(1))).error().code, ErrorCode::kInvalidArgument);
}

// ---- Through image files ----------------------------------------------------------------------

struct FormatCase {
  ImageFormat format;
  int channels;
  bool password;
};

class ThroughFile : public ::testing::TestWithParam<FormatCase> {};

TEST_P(ThroughFile, EncodeDecodeExtract) {
  const FormatCase c = GetParam();
  const std::string password = c.password ? "pw" : "";
  const Image cover = Cover(96, 64, c.channels, 21);
  Image stego = cover;
  const std::vector<uint8_t> data = RandomData(*MaxDataBytes({ImageDims::Of(cover), 2, c.password, 0, 0}), 4);
  EmbedOrDie(stego, data, Options(2, password));
  Result<std::vector<uint8_t>> file = EncodeImage(stego, c.format);
  ASSERT_TRUE(file.has_value()) << file.error().message;
  Result<Image> decoded = DecodeImage(*file);
  ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
  EXPECT_EQ(ExtractOrDie(*decoded, password).data, data);
}

std::vector<FormatCase> AllFormatCases() {
  std::vector<FormatCase> cases;
  for (ImageFormat format : {ImageFormat::kPng, ImageFormat::kBmp, ImageFormat::kTiff, ImageFormat::kWebp}) {
    for (int channels : {1, 3, 4}) {
      if (format == ImageFormat::kBmp && channels == 4) continue;  // BMP keeps no alpha: refused, tested below
      for (bool password : {false, true}) cases.push_back({format, channels, password});
    }
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Formats, ThroughFile, ::testing::ValuesIn(AllFormatCases()), [](const auto& info) {
  return std::string(FormatName(info.param.format)) + "_" + std::to_string(info.param.channels) + "ch_" +
         (info.param.password ? "password" : "plain");
});

TEST(ThroughFile, StegoPngDiffersFromCoverOnlyInUsedLowBits) {
  for (int depth : {1, 3}) {
    const Image cover = Cover(120, 80, 4, 5);
    Image stego = cover;
    EmbedOrDie(stego, RandomData(2000, 5), Options(depth));
    Result<std::vector<uint8_t>> png = EncodeImage(stego, ImageFormat::kPng);
    ASSERT_TRUE(png.has_value());
    const cv::Mat decoded = cv::imdecode(*png, cv::IMREAD_UNCHANGED);  // OpenCV alone, not our decoder
    ASSERT_EQ(decoded.channels(), 4);
    ASSERT_TRUE(decoded.isContinuous());
    Image seen{decoded.cols, decoded.rows, 4, std::vector<uint8_t>(decoded.data, decoded.data + decoded.total() * 4)};
    ExpectOnlyLowBitsChanged(cover, seen, depth);
    EXPECT_NE(seen.pixels, cover.pixels);
  }
}

TEST(ThroughFile, OpaqueBgraAsBmpKeepsThePayload) {
  Image cover = Cover(64, 48, 4);
  for (size_t i = 3; i < cover.pixels.size(); i += 4) cover.pixels[i] = 255;
  Image stego = cover;
  EmbedOrDie(stego, TextData(200), Options(1));
  Result<std::vector<uint8_t>> bmp = EncodeImage(stego, ImageFormat::kBmp);
  ASSERT_TRUE(bmp.has_value());
  Result<Image> decoded = DecodeImage(*bmp);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->channels, 3);  // alpha dropped, but it was all 255 and carried nothing
  EXPECT_EQ(ExtractOrDie(*decoded).data, TextData(200));
}

TEST(ThroughFile, GrayWebpComesBackAsBgrAndStillExtracts) {
  Image stego = Cover(64, 64, 1);
  EmbedOrDie(stego, TextData(300), Options(1, "pw"));
  Result<std::vector<uint8_t>> webp = EncodeImage(stego, ImageFormat::kWebp);
  ASSERT_TRUE(webp.has_value());
  Result<Image> decoded = DecodeImage(*webp);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->channels, 3);
  EXPECT_EQ(ExtractOrDie(*decoded, "pw").data, TextData(300));
}

}  // namespace
}  // namespace stego
