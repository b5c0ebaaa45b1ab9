// The header probe: agrees with OpenCV on real files, and refuses hostile ones cheaply.
#include "worker/stego/probe.h"

#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <zlib.h>

#include <chrono>

#include "tests/unit/stego/test_util.h"
#include "worker/stego/codec.h"

namespace stego {
namespace {

using testing::BuildPng;
using testing::Cover;
using testing::OpenCvEncode;
using testing::PngChunk;

// The probe's prediction must match what OpenCV decodes, or capacity checked before decoding would
// disagree with the decoded cover.
void ExpectProbeMatchesDecode(const std::vector<uint8_t>& file, ImageFormat format, int width, int height) {
  Result<ImageInfo> info = ProbeImage(file);
  ASSERT_TRUE(info.has_value()) << info.error().message;
  EXPECT_EQ(info->format, format);
  EXPECT_EQ(info->width, width);
  EXPECT_EQ(info->height, height);
  const cv::Mat decoded = cv::imdecode(file, cv::IMREAD_UNCHANGED);
  ASSERT_FALSE(decoded.empty());
  EXPECT_EQ(info->colour_channels + (info->has_alpha ? 1 : 0), decoded.channels());
}

TEST(Probe, AgreesWithOpenCvOnEveryFormatAndLayout) {
  struct Case {
    std::string ext;
    ImageFormat format;
    int channels;
    std::vector<int> params;
  };
  const std::vector<Case> cases = {
      {".png", ImageFormat::kPng, 1, {}},       {".png", ImageFormat::kPng, 3, {}},
      {".png", ImageFormat::kPng, 4, {}},       {".bmp", ImageFormat::kBmp, 1, {}},
      {".bmp", ImageFormat::kBmp, 3, {}},       {".bmp", ImageFormat::kBmp, 4, {}},
      {".tiff", ImageFormat::kTiff, 1, {}},     {".tiff", ImageFormat::kTiff, 3, {}},
      {".tiff", ImageFormat::kTiff, 4, {}},     {".jpg", ImageFormat::kJpeg, 1, {}},
      {".jpg", ImageFormat::kJpeg, 3, {}},      {".webp", ImageFormat::kWebp, 3, {cv::IMWRITE_WEBP_QUALITY, 90}},
      {".webp", ImageFormat::kWebp, 3, {cv::IMWRITE_WEBP_QUALITY, 101}},
      {".webp", ImageFormat::kWebp, 4, {cv::IMWRITE_WEBP_QUALITY, 101}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.ext + " " + std::to_string(c.channels) + "ch");
    const Image image = Cover(67, 31, c.channels, 2);
    ExpectProbeMatchesDecode(OpenCvEncode(c.ext, 67, 31, CV_8UC(c.channels), image.pixels.data(), c.params),
                             c.format, 67, 31);
  }
}

TEST(Probe, PredictsOpenCvChannelsForUnusualPngs) {
  // Gray+alpha decodes to BGRA; palette decodes to BGR, with tRNS to BGRA; gray with tRNS stays gray.
  const std::vector<uint8_t> gray_alpha = BuildPng(3, 2, 8, 4, std::vector<uint8_t>(2 * 7, 0));
  ExpectProbeMatchesDecode(gray_alpha, ImageFormat::kPng, 3, 2);
  EXPECT_EQ(ProbeImage(gray_alpha)->colour_channels, 3);
  const PngChunk palette{"PLTE", {0, 0, 0, 255, 0, 0}};
  ExpectProbeMatchesDecode(BuildPng(3, 2, 8, 3, std::vector<uint8_t>(2 * 4, 0), {palette}), ImageFormat::kPng, 3, 2);
  ExpectProbeMatchesDecode(BuildPng(3, 2, 8, 3, std::vector<uint8_t>(2 * 4, 0), {palette, {"tRNS", {0}}}),
                           ImageFormat::kPng, 3, 2);
  ExpectProbeMatchesDecode(BuildPng(3, 2, 8, 0, std::vector<uint8_t>(2 * 4, 0), {{"tRNS", {0, 0}}}),
                           ImageFormat::kPng, 3, 2);
  ExpectProbeMatchesDecode(BuildPng(3, 2, 16, 2, std::vector<uint8_t>(2 * 19, 0)), ImageFormat::kPng, 3, 2);
}

TEST(Probe, RefusesNonImages) {
  for (const std::string text : {"", "hello", "GIF89a........", "<svg xmlns='http://www.w3.org/2000/svg'/>"}) {
    const std::vector<uint8_t> bytes(text.begin(), text.end());
    Result<ImageInfo> info = ProbeImage(bytes);
    ASSERT_FALSE(info.has_value()) << text;
    EXPECT_EQ(info.error().code, ErrorCode::kUnsupportedImage);
  }
}

TEST(Probe, RefusesEveryTruncationOfAPng) {
  Result<std::vector<uint8_t>> png = EncodeImage(Cover(20, 10, 3), ImageFormat::kPng);
  ASSERT_TRUE(png.has_value());
  ASSERT_TRUE(ProbeImage(*png).has_value());
  for (size_t size = 0; size < png->size(); ++size) {
    Result<ImageInfo> info = ProbeImage(std::span(png->data(), size));
    ASSERT_FALSE(info.has_value()) << "prefix of " << size << " bytes";
    EXPECT_EQ(info.error().code, ErrorCode::kUnsupportedImage);
  }
}

TEST(Probe, RefusesTruncatedFilesOfOtherFormats) {
  const Image image = Cover(40, 30, 3);
  for (const std::string ext : {".bmp", ".jpg", ".webp"}) {
    const std::vector<uint8_t> file = OpenCvEncode(ext, 40, 30, CV_8UC3, image.pixels.data());
    // Cut inside the header, and (BMP, WebP) inside the pixel data.
    for (size_t size : {size_t{10}, size_t{25}, file.size() - 1}) {
      if (ext == ".jpg" && size == file.size() - 1) continue;  // JPEG is only checked up to its first scan
      Result<ImageInfo> info = ProbeImage(std::span(file.data(), size));
      ASSERT_FALSE(info.has_value()) << ext << " cut to " << size;
      EXPECT_EQ(info.error().code, ErrorCode::kUnsupportedImage);
    }
  }
}

TEST(Probe, RefusesChunksWithWrongCrc) {
  std::vector<uint8_t> png = BuildPng(4, 4, 8, 2, std::vector<uint8_t>(4 * 13, 0));
  png[8 + 8 + 3] ^= 1;  // a width byte inside IHDR, CRC unchanged
  Result<ImageInfo> info = ProbeImage(png);
  ASSERT_FALSE(info.has_value());
  EXPECT_EQ(info.error().code, ErrorCode::kUnsupportedImage);
  EXPECT_NE(info.error().message.find("CRC"), std::string::npos) << info.error().message;

  std::vector<uint8_t> ancillary = BuildPng(4, 4, 8, 2, std::vector<uint8_t>(4 * 13, 0), {{"tEXt", {'a', 0, 'b'}}});
  ancillary[8 + 25 + 8] ^= 1;
  EXPECT_FALSE(ProbeImage(ancillary).has_value());
}

TEST(Probe, RefusesMalformedPngStructure) {
  std::vector<uint8_t> no_idat = {137, 80, 78, 71, 13, 10, 26, 10};
  const std::vector<uint8_t> full = BuildPng(4, 4, 8, 2, std::vector<uint8_t>(4 * 13, 0));
  no_idat.insert(no_idat.end(), full.begin() + 8, full.begin() + 8 + 25);  // IHDR
  no_idat.insert(no_idat.end(), full.end() - 12, full.end());               // IEND
  EXPECT_FALSE(ProbeImage(no_idat).has_value());
  EXPECT_FALSE(ProbeImage(BuildPng(4, 4, 3, 2, {})).has_value());   // bit depth 3
  EXPECT_FALSE(ProbeImage(BuildPng(0, 4, 8, 2, {})).has_value());   // zero width
  EXPECT_FALSE(ProbeImage(BuildPng(4, 4, 8, 7, {})).has_value());   // colour type 7
}

TEST(Probe, DecompressionBombIsRefusedBeforeDecoding) {
  // A tiny PNG declaring 100000 x 100000 pixels (10^10): the header is all it takes.
  const std::vector<uint8_t> bomb = BuildPng(100000, 100000, 8, 2, std::vector<uint8_t>(1000, 0));
  ASSERT_LT(bomb.size(), 200u);
  Result<ImageInfo> info = ProbeImage(bomb);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->pixel_count(), 10'000'000'000u);
  const auto start = std::chrono::steady_clock::now();
  Result<Image> decoded = DecodeImage(bomb);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(decoded.has_value());
  EXPECT_EQ(decoded.error().code, ErrorCode::kImageTooLarge);
  EXPECT_LT(elapsed, std::chrono::milliseconds(50));
}

TEST(Probe, ReadsHugeDeclaredSizesOfOtherFormats) {
  // JPEG: SOI, SOF0 65535x65535 3 components, SOS.
  const std::vector<uint8_t> jpeg = {0xFF, 0xD8, 0xFF, 0xC0, 0, 17, 8, 0xFF, 0xFF, 0xFF, 0xFF, 3, 1, 0x11, 0,
                                     2,    0x11, 0,    3,    0x11, 0, 0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 63, 0};
  Result<ImageInfo> info = ProbeImage(jpeg);
  ASSERT_TRUE(info.has_value()) << info.error().message;
  EXPECT_EQ(info->width, 65535);
  EXPECT_EQ(info->colour_channels, 3);
  EXPECT_EQ(DecodeImage(jpeg).error().code, ErrorCode::kImageTooLarge);

  // BMP: 40-byte header, 30000 x 30000 at 24 bits, with no pixel data behind it: refused as truncated.
  std::vector<uint8_t> bmp(54, 0);
  bmp[0] = 'B';
  bmp[1] = 'M';
  bmp[10] = 54;
  bmp[14] = 40;
  bmp[18] = 0x30, bmp[19] = 0x75;  // 30000
  bmp[22] = 0x30, bmp[23] = 0x75;
  bmp[26] = 1;
  bmp[28] = 24;
  EXPECT_EQ(ProbeImage(bmp).error().code, ErrorCode::kUnsupportedImage);

  // WebP VP8X declaring 16777216 x 16777216.
  std::vector<uint8_t> webp = {'R', 'I', 'F', 'F', 22, 0, 0, 0, 'W', 'E', 'B', 'P', 'V', 'P', '8', 'X', 10, 0, 0, 0,
                               0,   0,   0,   0,   0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
  info = ProbeImage(webp);
  ASSERT_TRUE(info.has_value()) << info.error().message;
  EXPECT_EQ(info->width, 16777216);
  EXPECT_EQ(DecodeImage(webp).error().code, ErrorCode::kImageTooLarge);

  // TIFF: one directory with width and height 100000 (LONG) and photometric RGB.
  std::vector<uint8_t> tiff = {'I', 'I', 42, 0, 8, 0, 0, 0, 3, 0};
  auto entry = [&](uint16_t tag, uint16_t type, uint32_t value) {
    const uint8_t e[12] = {static_cast<uint8_t>(tag), static_cast<uint8_t>(tag >> 8), static_cast<uint8_t>(type), 0,
                           1, 0, 0, 0, static_cast<uint8_t>(value), static_cast<uint8_t>(value >> 8),
                           static_cast<uint8_t>(value >> 16), static_cast<uint8_t>(value >> 24)};
    tiff.insert(tiff.end(), e, e + 12);
  };
  entry(256, 4, 100000);
  entry(257, 4, 100000);
  entry(262, 3, 2);
  info = ProbeImage(tiff);
  ASSERT_TRUE(info.has_value()) << info.error().message;
  EXPECT_EQ(info->height, 100000);
  EXPECT_EQ(DecodeImage(tiff).error().code, ErrorCode::kImageTooLarge);
}

TEST(Probe, RefusesOutOfBoundsOffsets) {
  // TIFF whose directory lies past the end; JPEG whose segment length runs past the end.
  EXPECT_FALSE(ProbeImage(std::vector<uint8_t>{'I', 'I', 42, 0, 0xFF, 0xFF, 0xFF, 0x7F}).has_value());
  EXPECT_FALSE(ProbeImage(std::vector<uint8_t>{'M', 'M', 0, 42, 0, 0, 0, 8, 0xFF, 0xFF}).has_value());
  EXPECT_FALSE(ProbeImage(std::vector<uint8_t>{0xFF, 0xD8, 0xFF, 0xE0, 0xFF, 0xFF, 0}).has_value());
  EXPECT_FALSE(ProbeImage(std::vector<uint8_t>{0xFF, 0xD8, 0xFF, 0xDA, 0, 2}).has_value());  // scan before frame
}

// Mutated headers must never crash or read out of bounds (run under ASan to see the latter).
TEST(Probe, SurvivesRandomMutations) {
  const Image image = Cover(24, 16, 3);
  std::vector<std::vector<uint8_t>> seeds;
  for (const std::string ext : {".png", ".bmp", ".tiff", ".jpg", ".webp"}) {
    seeds.push_back(OpenCvEncode(ext, 24, 16, CV_8UC3, image.pixels.data()));
  }
  uint64_t state = 12345;
  auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  int accepted = 0;
  for (const std::vector<uint8_t>& seed : seeds) {
    for (int round = 0; round < 3000; ++round) {
      std::vector<uint8_t> file(seed.begin(), seed.begin() + static_cast<std::ptrdiff_t>(next() % (seed.size() + 1)));
      for (int m = 0, n = static_cast<int>(next() % 4); m < n && !file.empty(); ++m) {
        file[next() % std::min<size_t>(file.size(), 64)] = static_cast<uint8_t>(next());  // mostly the header
      }
      accepted += ProbeImage(file).has_value() ? 1 : 0;
    }
  }
  EXPECT_GT(accepted, 0);  // some mutations keep a valid header
}

}  // namespace
}  // namespace stego
