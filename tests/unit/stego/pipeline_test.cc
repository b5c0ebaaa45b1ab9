// RunEmbed and RunExtract (pipeline.h): the order of the steps, one rule per test. A request is
// refused by the cheapest check that can refuse it, and nothing after that check runs: not the
// decoder, not the key derivation, not the encoder.
#include "worker/stego/engine.h"

#include <gtest/gtest.h>
#include <opencv2/core.hpp>

#include <memory>
#include <string>
#include <vector>

#include "tests/unit/stego/test_util.h"

namespace stego {
namespace {

using testing::Cover;
using testing::Options;
using testing::RandomData;
using testing::TextData;

constexpr size_t kNoLimit = size_t{1} << 40;

// Records the phases a request went through, in order.
struct Phases {
  std::vector<std::string> seen;
  PhaseObserver Observer() {
    return [this](std::string_view phase, std::chrono::steady_clock::duration elapsed) {
      EXPECT_GE(elapsed.count(), 0);
      seen.emplace_back(phase);
    };
  }
};

using Names = std::vector<std::string>;

// A stored cover whose decoder counts its calls.
struct CountingCover {
  std::shared_ptr<const Image> image;
  int decodes = 0;

  explicit CountingCover(Image cover) : image(std::make_shared<const Image>(std::move(cover))) {}

  StoredCover Stored() {
    const ImageInfo info{.format = ImageFormat::kPng,
                         .width = image->width,
                         .height = image->height,
                         .colour_channels = image->colour_channels(),
                         .has_alpha = image->has_alpha()};
    return {info, [this]() -> Result<std::shared_ptr<const Image>> {
              ++decodes;
              return image;
            }};
  }
};

EmbedJob JobFor(CoverSource cover, const std::vector<uint8_t>& secret, EmbedOptions options = Options(1)) {
  EmbedJob job;
  job.secret = secret;
  job.options = std::move(options);
  job.cover = std::move(cover);
  job.limits.max_pixels = 1'000'000;
  return job;
}

Extracted ExtractOrDie(std::span<const uint8_t> file, std::string_view password = {}) {
  Result<Extracted> extracted =
      RunExtract({.file = file, .password = password, .max_output_bytes = kNoLimit, .limits = {}});
  EXPECT_TRUE(extracted.has_value()) << extracted.error().message;
  return extracted.has_value() ? *extracted : Extracted{};
}

// ---- Refusals, cheapest first -----------------------------------------------------------------

TEST(RunEmbed, ALossyOutputIsRefusedBeforeAnythingElse) {
  CountingCover cover(Cover(64, 48, 3));
  const std::vector<uint8_t> secret = TextData(10);
  EmbedJob job = JobFor(cover.Stored(), secret);
  job.format = ImageFormat::kJpeg;
  Phases phases;
  Result<Embedded> done = RunEmbed(job, phases.Observer());
  ASSERT_FALSE(done.has_value());
  EXPECT_EQ(done.error().code, ErrorCode::kLossyOutput);
  EXPECT_EQ(phases.seen, Names{});
  EXPECT_EQ(cover.decodes, 0);
}

TEST(RunEmbed, ALossyOutputIsRefusedForThePreparedCoverToo) {
  Result<PngTemplate> png = PngTemplate::Prepare(std::make_shared<const Image>(Cover(64, 48, 3)));
  ASSERT_TRUE(png.has_value());
  const std::vector<uint8_t> secret = TextData(10);
  EmbedJob job = JobFor(std::cref(*png), secret);
  job.format = ImageFormat::kJpeg;
  Phases phases;
  EXPECT_EQ(RunEmbed(job, phases.Observer()).error().code, ErrorCode::kLossyOutput);
  EXPECT_EQ(phases.seen, Names{});
}

TEST(RunEmbed, AnUploadWhoseHeaderDeclaresTooManyPixelsIsRefusedAfterTheProbeAlone) {
  // The header says 5000x5000; there are no pixels behind it to decode.
  const std::vector<uint8_t> file = testing::BuildPng(5000, 5000, 8, 2, std::vector<uint8_t>(16));
  const std::vector<uint8_t> secret = TextData(10);
  Phases phases;
  Result<Embedded> done = RunEmbed(JobFor(UploadedCover{file}, secret), phases.Observer());
  ASSERT_FALSE(done.has_value());
  EXPECT_EQ(done.error().code, ErrorCode::kImageTooLarge);
  EXPECT_EQ(phases.seen, Names{"probe"});
}

TEST(RunEmbed, AStoredCoverOverTheLimitsIsRefusedWithoutDecodingIt) {
  CountingCover cover(Cover(64, 48, 3));
  const std::vector<uint8_t> secret = TextData(10);
  EmbedJob job = JobFor(cover.Stored(), secret);
  job.limits.max_pixels = 64 * 48 - 1;  // lowered since the cover was stored
  Phases phases;
  Result<Embedded> done = RunEmbed(job, phases.Observer());
  ASSERT_FALSE(done.has_value());
  EXPECT_EQ(done.error().code, ErrorCode::kImageTooLarge);
  EXPECT_EQ(phases.seen, Names{}) << "a stored cover's header is not probed";
  EXPECT_EQ(cover.decodes, 0);
}

TEST(RunEmbed, NotAnImageIsRefusedByTheProbe) {
  const std::vector<uint8_t> file = RandomData(1000, 3);
  const std::vector<uint8_t> secret = TextData(10);
  Phases phases;
  EXPECT_EQ(RunEmbed(JobFor(UploadedCover{file}, secret), phases.Observer()).error().code,
            ErrorCode::kUnsupportedImage);
  EXPECT_EQ(phases.seen, Names{"probe"});
}

TEST(RunEmbed, CapacityIsRefusedAfterPackingAndBeforeDecoding) {
  CountingCover cover(Cover(32, 32, 3));
  const std::vector<uint8_t> secret = RandomData(5000, 4);  // incompressible, far over 32x32's capacity
  Phases phases;
  Result<Embedded> done = RunEmbed(JobFor(cover.Stored(), secret), phases.Observer());
  ASSERT_FALSE(done.has_value());
  EXPECT_EQ(done.error().code, ErrorCode::kCapacityExceeded);
  EXPECT_GT(done.error().needed_bytes, done.error().available_bytes);
  EXPECT_EQ(phases.seen, Names{"pack"});
  EXPECT_EQ(cover.decodes, 0);
}

TEST(RunEmbed, CapacityOfAnUploadIsJudgedFromItsHeader) {
  const Image image = Cover(32, 32, 3);
  Result<std::vector<uint8_t>> file = EncodeImage(image, ImageFormat::kPng);
  ASSERT_TRUE(file.has_value());
  const std::vector<uint8_t> secret = RandomData(5000, 4);
  Phases phases;
  EXPECT_EQ(RunEmbed(JobFor(UploadedCover{*file}, secret), phases.Observer()).error().code,
            ErrorCode::kCapacityExceeded);
  EXPECT_EQ(phases.seen, (Names{"probe", "pack"}));
}

TEST(RunEmbed, BadOptionsAreRefusedByPack) {
  CountingCover cover(Cover(64, 48, 3));
  const std::vector<uint8_t> secret = TextData(10);
  Phases phases;
  EXPECT_EQ(RunEmbed(JobFor(cover.Stored(), secret, Options(kMaxLsbBits + 1)), phases.Observer()).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(phases.seen, Names{"pack"});
  EXPECT_EQ(cover.decodes, 0);
}

TEST(RunEmbed, AnEncoderRefusalComesLast) {
  // BMP keeps no alpha: only the encoder, holding the embedded pixels, can see the transparency.
  Image image = Cover(64, 48, 4);
  image.pixels[3] = 0;
  CountingCover cover(std::move(image));
  const std::vector<uint8_t> secret = TextData(10);
  EmbedJob job = JobFor(cover.Stored(), secret);
  job.format = ImageFormat::kBmp;
  Phases phases;
  EXPECT_EQ(RunEmbed(job, phases.Observer()).error().code, ErrorCode::kLossyOutput);
  EXPECT_EQ(phases.seen, (Names{"pack", "decode", "embed", "encode"}));
}

// ---- Successful runs --------------------------------------------------------------------------

TEST(RunEmbed, AnUploadGoesThroughEveryPhaseInOrder) {
  const Image image = Cover(80, 60, 3, 7);
  Result<std::vector<uint8_t>> file = EncodeImage(image, ImageFormat::kPng);
  ASSERT_TRUE(file.has_value());
  const std::vector<uint8_t> secret = RandomData(500, 8);
  EmbedJob job = JobFor(UploadedCover{*file}, secret, Options(2));
  job.format = ImageFormat::kTiff;
  Phases phases;
  Result<Embedded> done = RunEmbed(job, phases.Observer());
  ASSERT_TRUE(done.has_value()) << done.error().message;
  EXPECT_EQ(phases.seen, (Names{"probe", "pack", "decode", "embed", "encode"}));
  EXPECT_EQ(done->format, ImageFormat::kTiff);
  EXPECT_EQ(done->dims.width, 80);
  EXPECT_EQ(done->dims.height, 60);
  EXPECT_EQ(done->channels, 3);
  EXPECT_EQ(done->report.lsb_bits, 2);
  EXPECT_EQ(done->report.data_bytes, 500u);
  EXPECT_EQ(ProbeImage(done->file)->format, ImageFormat::kTiff);
  EXPECT_EQ(ExtractOrDie(done->file).data, secret);
}

TEST(RunEmbed, AStoredCoverIsDecodedOnceAndLeftUntouched) {
  CountingCover cover(Cover(64, 48, 4, 9));
  const std::vector<uint8_t> before = cover.image->pixels;
  const std::vector<uint8_t> secret = TextData(300);
  Phases phases;
  Result<Embedded> done = RunEmbed(JobFor(cover.Stored(), secret, Options(1, "pw")), phases.Observer());
  ASSERT_TRUE(done.has_value()) << done.error().message;
  EXPECT_EQ(phases.seen, (Names{"pack", "decode", "embed", "encode"}));
  EXPECT_EQ(cover.decodes, 1);
  EXPECT_EQ(cover.image->pixels, before) << "the embed writes into a copy; the shared pixels stay the cover's";
  EXPECT_EQ(done->channels, 4);
  EXPECT_TRUE(done->report.encrypted);
  EXPECT_EQ(ExtractOrDie(done->file, "pw").data, secret);
}

TEST(RunEmbed, APreparedCoverChangesOnlyTheRowsThePayloadReaches) {
  const Image image = Cover(120, 90, 3, 11);
  Result<PngTemplate> png = PngTemplate::Prepare(std::make_shared<const Image>(image));
  ASSERT_TRUE(png.has_value());
  const std::vector<uint8_t> secret = RandomData(200, 12);
  EmbedJob job = JobFor(std::cref(*png), secret);
  job.limits.max_pixels = 1;  // no limit applies to the prepared cover: its owner chose it
  Phases phases;
  Result<Embedded> done = RunEmbed(job, phases.Observer());
  ASSERT_TRUE(done.has_value()) << done.error().message;
  EXPECT_EQ(phases.seen, (Names{"pack", "embed", "encode"})) << "no probe, no decode: the pixels are at hand";
  EXPECT_EQ(png->image().pixels, image.pixels) << "the shared cover is never written to";
  EXPECT_EQ(done->dims.height, 90);

  Result<Image> stego = DecodeImage(done->file);
  ASSERT_TRUE(stego.has_value());
  const size_t row_bytes = 120 * 3;
  size_t last_changed_row = 0;
  for (size_t row = 0; row < 90; ++row) {
    if (!std::equal(image.pixels.begin() + static_cast<std::ptrdiff_t>(row * row_bytes),
                    image.pixels.begin() + static_cast<std::ptrdiff_t>((row + 1) * row_bytes),
                    stego->pixels.begin() + static_cast<std::ptrdiff_t>(row * row_bytes))) {
      last_changed_row = row;
    }
  }
  // 200 bytes plus the container's framing at 1 bit per channel: under 2,000 channel bytes of 360 a row.
  EXPECT_LT(last_changed_row, 8u);
  EXPECT_EQ(ExtractOrDie(done->file).data, secret);
}

// A PNG stego image carrying `secret`, embedded without an observer: nothing is measured then.
std::vector<uint8_t> StegoFile(const std::vector<uint8_t>& secret, int channels = 3) {
  CountingCover cover(Cover(64, 48, channels));
  Result<Embedded> done = RunEmbed(JobFor(cover.Stored(), secret));
  EXPECT_TRUE(done.has_value()) << done.error().message;
  return done.has_value() ? done->file : std::vector<uint8_t>{};
}

TEST(RunEmbed, WithoutAnObserverNothingIsMeasured) {
  const std::vector<uint8_t> secret = TextData(10);
  EXPECT_EQ(ExtractOrDie(StegoFile(secret)).data, secret);
}

// ---- Extract ----------------------------------------------------------------------------------

TEST(RunExtract, DecodesThenExtracts) {
  const std::vector<uint8_t> secret = TextData(100);
  const std::vector<uint8_t> file = StegoFile(secret, /*channels=*/1);
  Phases phases;
  Result<Extracted> extracted =
      RunExtract({.file = file, .password = {}, .max_output_bytes = kNoLimit, .limits = {}}, phases.Observer());
  ASSERT_TRUE(extracted.has_value());
  EXPECT_EQ(extracted->data, secret);
  EXPECT_EQ(phases.seen, (Names{"decode", "extract"}));
}

TEST(RunExtract, AnOversizedHeaderIsRefusedByTheDecodeStepBeforeAnyPixel) {
  const std::vector<uint8_t> file = testing::BuildPng(5000, 5000, 8, 2, std::vector<uint8_t>(16));
  Phases phases;
  const ExtractJob job{.file = file, .password = {}, .max_output_bytes = kNoLimit, .limits = {.max_pixels = 1'000'000}};
  Result<Extracted> extracted = RunExtract(job, phases.Observer());
  ASSERT_FALSE(extracted.has_value());
  EXPECT_EQ(extracted.error().code, ErrorCode::kImageTooLarge);
  EXPECT_EQ(phases.seen, Names{"decode"});
}

TEST(RunExtract, TheOutputLimitReachesExtract) {
  const std::vector<uint8_t> file = StegoFile(RandomData(200, 5));
  EXPECT_EQ(RunExtract({.file = file, .password = {}, .max_output_bytes = 199, .limits = {}}).error().code,
            ErrorCode::kOutputTooLarge);
}

}  // namespace
}  // namespace stego
