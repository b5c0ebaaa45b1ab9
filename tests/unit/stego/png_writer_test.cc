#include "worker/stego/png_writer.h"

#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "tests/unit/stego/test_util.h"

namespace stego {
namespace {

using testing::Cover;

// Decodes with OpenCV (libpng: checks chunk CRCs and the zlib stream's Adler-32) and compares.
void ExpectPngOf(const Image& image, const Result<std::vector<uint8_t>>& png, const PngOptions& options = {}) {
  ASSERT_TRUE(png.has_value()) << png.error().message;
  const cv::Mat decoded = cv::imdecode(*png, cv::IMREAD_UNCHANGED);
  ASSERT_FALSE(decoded.empty()) << image.width << "x" << image.height << "x" << image.channels;
  ASSERT_EQ(decoded.depth(), CV_8U);
  ASSERT_EQ(decoded.channels(), image.channels);
  ASSERT_EQ(decoded.cols, image.width);
  ASSERT_EQ(decoded.rows, image.height);
  ASSERT_TRUE(decoded.isContinuous());
  EXPECT_TRUE(std::equal(image.pixels.begin(), image.pixels.end(), decoded.data))
      << image.width << "x" << image.height << "x" << image.channels << " bands " << options.bands;
}

void ExpectDecodesToSamePixels(const Image& image, const PngOptions& options = {}) {
  ExpectPngOf(image, WritePng(image, options), options);
}

// A smooth gradient: what Paeth predicts almost exactly.
Image Gradient(int width, int height) {
  Image image = Image::Blank(width, height, 3);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      uint8_t* p = image.pixels.data() + (static_cast<size_t>(y) * static_cast<size_t>(width) + static_cast<size_t>(x)) * 3;
      p[0] = static_cast<uint8_t>((x + y) * 255 / (width + height));
      p[1] = static_cast<uint8_t>(y * 255 / height);
      p[2] = static_cast<uint8_t>(x * 255 / width);
    }
  }
  return image;
}

Image FirstRows(const Image& image, int rows) {
  const size_t bytes = static_cast<size_t>(rows) * static_cast<size_t>(image.width) * static_cast<size_t>(image.channels);
  return Image{image.width, rows, image.channels, std::vector<uint8_t>(image.pixels.begin(), image.pixels.begin() + static_cast<std::ptrdiff_t>(bytes))};
}

TEST(PngWriter, DecodesToTheSamePixelsForEveryLayoutAndShape) {
  for (int channels : {1, 3, 4}) {
    for (auto [width, height] : std::vector<std::pair<int, int>>{{1, 1}, {1, 9}, {7, 1}, {333, 1}, {33, 17}, {64, 64}}) {
      ExpectDecodesToSamePixels(Cover(width, height, channels, 6));
    }
  }
}

TEST(PngWriter, BandsJoinIntoOneValidZlibStream) {
  const Image image = Cover(101, 57, 3, 7);
  for (int bands : {1, 2, 3, 5, 56, 57, 1000}) ExpectDecodesToSamePixels(image, {bands});
}

TEST(PngWriter, LargeImageUsesSeveralBandsAndStillDecodes) {
  ExpectDecodesToSamePixels(Cover(1280, 720, 4, 8));
}

TEST(PngWriter, FlatAndSmoothImagesDecode) {
  ExpectDecodesToSamePixels(Image::Blank(300, 200, 3));  // zero after filtering: zlib's run-length path
  ExpectDecodesToSamePixels(Gradient(300, 200));
}

TEST(PngTemplate, WritesItsImageWithTheFirstRowsReplaced) {
  for (int channels : {1, 3, 4}) {
    const auto base = std::make_shared<const Image>(Cover(101, 57, channels, 10));
    const Image other = Cover(101, 57, channels, 11);
    Result<PngTemplate> png = PngTemplate::Prepare(base);
    ASSERT_TRUE(png.has_value()) << png.error().message;
    // Band edges (16 rows) and their neighbours: a changed row above a band changes its Paeth input.
    for (int rows : {0, 1, 15, 16, 17, 32, 40, 56, 57}) {
      Image expected = *base;
      std::copy(other.pixels.begin(), other.pixels.begin() + static_cast<std::ptrdiff_t>(FirstRows(other, rows).pixels.size()),
                expected.pixels.begin());
      ExpectPngOf(expected, png->Write(FirstRows(other, rows)));
    }
  }
}

TEST(PngTemplate, ASmoothCoverComesOutSmallerThanTheFastWriterMakesIt) {
  const auto smooth = std::make_shared<const Image>(Gradient(640, 480));
  Result<PngTemplate> png = PngTemplate::Prepare(smooth);
  ASSERT_TRUE(png.has_value());
  const Result<std::vector<uint8_t>> prepared = png->Write(FirstRows(*smooth, 0));
  ExpectPngOf(*smooth, prepared);
  EXPECT_LT(prepared->size() * 2, WritePng(*smooth)->size());
}

TEST(PngTemplate, RefusesRowsThatDoNotFit) {
  Result<PngTemplate> png = PngTemplate::Prepare(std::make_shared<const Image>(Cover(40, 30, 3, 12)));
  ASSERT_TRUE(png.has_value());
  EXPECT_EQ(png->Write(Cover(41, 3, 3, 1)).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(png->Write(Cover(40, 3, 4, 1)).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(png->Write(Cover(40, 31, 3, 1)).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(PngTemplate::Prepare(nullptr).error().code, ErrorCode::kInvalidArgument);
}

TEST(PngWriter, CompressesANaturalImage) {
  const Image image = Cover(640, 480, 3, 9);
  Result<std::vector<uint8_t>> png = WritePng(image);
  ASSERT_TRUE(png.has_value());
  EXPECT_LT(png->size(), image.pixels.size() * 3 / 4);
}

TEST(PngWriter, RefusesMalformedImages) {
  EXPECT_EQ(WritePng(Image{}).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(WritePng(Image{2, 2, 2, std::vector<uint8_t>(8)}).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(WritePng(Image{2, 2, 3, std::vector<uint8_t>(11)}).error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace stego
