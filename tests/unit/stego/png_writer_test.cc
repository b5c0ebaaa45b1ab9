#include "worker/stego/png_writer.h"

#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "tests/unit/stego/test_util.h"

namespace stego {
namespace {

using testing::Cover;

// Decodes with OpenCV (libpng: checks chunk CRCs and the zlib stream's Adler-32) and compares.
void ExpectDecodesToSamePixels(const Image& image, const PngOptions& options = {}) {
  Result<std::vector<uint8_t>> png = WritePng(image, options);
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
