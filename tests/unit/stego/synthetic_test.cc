#include "worker/stego/synthetic.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include "worker/stego/capacity.h"
#include "worker/stego/payload.h"
#include "worker/stego/png_writer.h"

namespace stego {
namespace {

uint32_t Crc(const Image& image) {
  return static_cast<uint32_t>(crc32(0, image.pixels.data(), static_cast<uInt>(image.pixels.size())));
}

TEST(Synthetic, IsDeterministicAndSeeded) {
  EXPECT_EQ(SyntheticCover(64, 48, 7).pixels, SyntheticCover(64, 48, 7).pixels);
  EXPECT_NE(SyntheticCover(64, 48, 7).pixels, SyntheticCover(64, 48, 8).pixels);
}

// Golden checksums: the covers must be identical on every machine and build (the dataset endpoint and
// benchmarks rely on it). Computed once from the implementation.
TEST(Synthetic, MatchesGoldenChecksums) {
  EXPECT_EQ(Crc(SyntheticCover(64, 48, 7)), 273956917u);
  EXPECT_EQ(Crc(SyntheticCover(33, 20, 1, 4)), 2435860741u);
}

TEST(Synthetic, LooksLikeAPhotographToPngAndToLsb) {
  const Image image = SyntheticCover(320, 240, 3);
  Result<std::vector<uint8_t>> png = WritePng(image);
  ASSERT_TRUE(png.has_value());
  // Neither flat (tiny PNG) nor white noise (PNG as large as the pixels).
  EXPECT_GT(png->size(), image.pixels.size() / 10);
  EXPECT_LT(png->size(), image.pixels.size() * 3 / 4);
  size_t ones = 0;
  for (uint8_t v : image.pixels) ones += v & 1;
  EXPECT_NEAR(static_cast<double>(ones) / static_cast<double>(image.pixels.size()), 0.5, 0.05);
}

TEST(Dataset, HasFiftyVariedImages) {
  int rgba = 0, gray = 0;
  for (int i = 0; i < kDatasetSize; ++i) {
    Result<Image> image = DatasetImage(i);
    ASSERT_TRUE(image.has_value());
    EXPECT_GE(image->width, 256);
    EXPECT_LE(image->width, 640);
    EXPECT_GE(image->height, 240);
    EXPECT_LE(image->height, 480);
    EXPECT_EQ(image->pixels.size(), image->pixel_count() * static_cast<size_t>(image->channels));
    rgba += image->channels == 4 ? 1 : 0;
    gray += image->channels == 1 ? 1 : 0;
    if (image->channels == 4) {
      for (size_t a = 3; a < image->pixels.size(); a += 4) ASSERT_GT(image->pixels[a], 0) << "fully transparent";
    }
  }
  EXPECT_GE(rgba, 5);
  EXPECT_GE(gray, 5);
  EXPECT_EQ(Crc(*DatasetImage(3)), Crc(*DatasetImage(3)));
  EXPECT_NE(Crc(*DatasetImage(3)), Crc(*DatasetImage(13)));
}

TEST(Dataset, RefusesIndicesOutOfRange) {
  EXPECT_EQ(DatasetImage(-1).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(DatasetImage(kDatasetSize).error().code, ErrorCode::kInvalidArgument);
}

// The prototype's clients (its loadgen, its GUI's stress test) fetch dataset images and embed each,
// as a file named secret.png, into the default cover at 1 LSB: every one must fit.
TEST(Dataset, EveryImageFitsTheDefaultCoverAsASecret) {
  const ImageDims cover = ImageDims::Of(DefaultCover());
  for (int i = 0; i < kDatasetSize; ++i) {
    const Result<std::vector<uint8_t>> png = WritePng(*DatasetImage(i));
    ASSERT_TRUE(png.has_value());
    EmbedOptions options;
    options.filename = "secret.png";
    options.mime = "image/png";
    const Result<PackedPayload> packed = Pack(*png, options);
    ASSERT_TRUE(packed.has_value());
    EXPECT_TRUE(CheckCapacity(*packed, cover).has_value()) << "dataset image " << i << ": " << png->size() << " bytes";
  }
}

}  // namespace
}  // namespace stego
