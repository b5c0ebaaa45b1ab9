#include "worker/stego/codec.h"

#include <gtest/gtest.h>
#include <opencv2/core.hpp>

#include "tests/unit/stego/test_util.h"

namespace stego {
namespace {

using testing::Cover;
using testing::OpenCvEncode;

TEST(Codec, LosslessFormatsRoundTripExactPixels) {
  for (ImageFormat format : {ImageFormat::kPng, ImageFormat::kBmp, ImageFormat::kTiff, ImageFormat::kWebp}) {
    for (int channels : {1, 3, 4}) {
      if (format == ImageFormat::kBmp && channels == 4) continue;
      SCOPED_TRACE(std::string(FormatName(format)) + " " + std::to_string(channels) + "ch");
      const Image image = Cover(37, 23, channels, 8);
      Result<std::vector<uint8_t>> file = EncodeImage(image, format);
      ASSERT_TRUE(file.has_value()) << file.error().message;
      Result<Image> back = DecodeImage(*file);
      ASSERT_TRUE(back.has_value()) << back.error().message;
      if (format == ImageFormat::kWebp && channels == 1) {  // WebP has no gray: B = G = R
        ASSERT_EQ(back->channels, 3);
        for (size_t i = 0; i < image.pixels.size(); ++i) ASSERT_EQ(back->pixels[3 * i + 1], image.pixels[i]);
        continue;
      }
      EXPECT_EQ(back->channels, channels);
      EXPECT_EQ(back->pixels, image.pixels);
    }
  }
}

TEST(Codec, TransparentPixelsSurviveWhereTheFormatAllows) {
  Image image = Cover(32, 16, 4, 9);
  for (size_t i = 3; i < image.pixels.size(); i += 16) image.pixels[i] = 0;  // some fully transparent pixels
  for (ImageFormat format : {ImageFormat::kPng, ImageFormat::kTiff}) {
    Result<std::vector<uint8_t>> file = EncodeImage(image, format);
    ASSERT_TRUE(file.has_value());
    EXPECT_EQ(DecodeImage(*file)->pixels, image.pixels) << FormatName(format);
  }
  EXPECT_EQ(EncodeImage(image, ImageFormat::kWebp).error().code, ErrorCode::kLossyOutput);
  EXPECT_EQ(EncodeImage(image, ImageFormat::kBmp).error().code, ErrorCode::kLossyOutput);
}

TEST(Codec, JpegIsAcceptedAsInputButRefusedAsOutput) {
  const Image image = Cover(64, 48, 3, 10);
  const std::vector<uint8_t> jpeg = OpenCvEncode(".jpg", 64, 48, CV_8UC3, image.pixels.data());
  Result<Image> decoded = DecodeImage(jpeg);
  ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
  EXPECT_EQ(decoded->width, 64);
  EXPECT_EQ(decoded->channels, 3);
  EXPECT_EQ(EncodeImage(image, ImageFormat::kJpeg).error().code, ErrorCode::kLossyOutput);
}

TEST(Codec, JpegCoversAreTurnedUprightByTheirExifOrientation) {
  const Image image = Cover(64, 48, 3, 10);
  std::vector<uint8_t> jpeg = OpenCvEncode(".jpg", 64, 48, CV_8UC3, image.pixels.data());
  // APP1 "Exif": a little-endian TIFF directory with one entry, Orientation (0x0112) = 6 (rotate 90).
  const std::vector<uint8_t> app1 = {0xFF, 0xE1, 0, 34, 'E', 'x', 'i', 'f', 0, 0, 'I', 'I', 42, 0, 8, 0, 0, 0,
                                     1,    0,    0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0};
  jpeg.insert(jpeg.begin() + 2, app1.begin(), app1.end());
  Result<Image> decoded = DecodeImage(jpeg);
  ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
  EXPECT_EQ(decoded->width, 48);
  EXPECT_EQ(decoded->height, 64);
}

TEST(Codec, SixteenBitImagesAreScaledToEightBits) {
  std::vector<uint16_t> pixels(4 * 2 * 3);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint16_t>(i * 2849);
  for (const std::string ext : {".png", ".tiff"}) {
    Result<Image> decoded = DecodeImage(OpenCvEncode(ext, 4, 2, CV_16UC3, pixels.data()));
    ASSERT_TRUE(decoded.has_value()) << ext << ": " << decoded.error().message;
    ASSERT_EQ(decoded->channels, 3);
    for (size_t i = 0; i < pixels.size(); ++i) {
      EXPECT_EQ(decoded->pixels[i], static_cast<uint8_t>((pixels[i] + 128) / 257)) << ext << " sample " << i;
    }
  }
}

TEST(Codec, PixelLimitIsEnforcedFromTheHeader) {
  const Image image = Cover(100, 50, 3);
  Result<std::vector<uint8_t>> png = EncodeImage(image, ImageFormat::kPng);
  ASSERT_TRUE(png.has_value());
  EXPECT_EQ(DecodeImage(*png, {4999}).error().code, ErrorCode::kImageTooLarge);
  EXPECT_TRUE(DecodeImage(*png, {5000}).has_value());
}

TEST(Codec, CorruptPixelDataIsUnsupported) {
  // Valid headers and CRCs, but the zlib stream starts with garbage: the probe passes, libpng fails.
  const std::vector<uint8_t> garbage_first =
      testing::BuildPng(16, 16, 8, 2, std::vector<uint8_t>(16 * 49, 0), {{"IDAT", {0x78, 0x01, 0xFF, 0xFF, 0x13}}});
  EXPECT_EQ(DecodeImage(garbage_first).error().code, ErrorCode::kUnsupportedImage);
  // Too few scanlines for the declared height.
  const std::vector<uint8_t> short_data = testing::BuildPng(16, 16, 8, 2, std::vector<uint8_t>(3 * 49, 0));
  EXPECT_EQ(DecodeImage(short_data).error().code, ErrorCode::kUnsupportedImage);
}

TEST(Codec, RefusesMalformedImagesToEncode) {
  Image empty;
  EXPECT_EQ(EncodeImage(empty, ImageFormat::kPng).error().code, ErrorCode::kInvalidArgument);
  Image two_channels{2, 2, 2, std::vector<uint8_t>(8)};
  EXPECT_EQ(EncodeImage(two_channels, ImageFormat::kTiff).error().code, ErrorCode::kInvalidArgument);
}

TEST(ImageFormats, NamesMimeTypesAndExtensions) {
  EXPECT_EQ(ParseImageFormat("PNG"), ImageFormat::kPng);
  EXPECT_EQ(ParseImageFormat("tif"), ImageFormat::kTiff);
  EXPECT_EQ(ParseImageFormat("tiff"), ImageFormat::kTiff);
  EXPECT_EQ(ParseImageFormat("jpg"), ImageFormat::kJpeg);
  EXPECT_EQ(ParseImageFormat("Jpeg"), ImageFormat::kJpeg);
  EXPECT_EQ(ParseImageFormat("webp"), ImageFormat::kWebp);
  EXPECT_EQ(ParseImageFormat("bmp"), ImageFormat::kBmp);
  EXPECT_EQ(ParseImageFormat("gif"), std::nullopt);
  EXPECT_EQ(FormatMimeType(ImageFormat::kWebp), "image/webp");
  EXPECT_EQ(FormatExtension(ImageFormat::kTiff), ".tiff");
  EXPECT_FALSE(IsLossless(ImageFormat::kJpeg));
  EXPECT_TRUE(IsLossless(ImageFormat::kBmp));
}

TEST(ImageFormats, OneTableAnswersForEveryFormat) {
  for (ImageFormat format : {ImageFormat::kPng, ImageFormat::kBmp, ImageFormat::kTiff, ImageFormat::kWebp,
                             ImageFormat::kJpeg}) {
    EXPECT_EQ(Traits(format).format, format);
    EXPECT_EQ(ParseImageFormat(FormatName(format)), format) << "a format's name reads back as itself";
    EXPECT_EQ(CheckLossless(format).has_value(), IsLossless(format)) << FormatName(format);
  }
  EXPECT_EQ(FormatExtension(ImageFormat::kJpeg), ".jpg");
  EXPECT_EQ(FormatMimeType(ImageFormat::kBmp), "image/bmp");
  EXPECT_EQ(CheckLossless(ImageFormat::kJpeg).error().code, ErrorCode::kLossyOutput);
  // Refusals name what to use instead, from the same table.
  EXPECT_EQ(FormatsWhere([](const FormatTraits& t) { return t.lossless; }), "png, bmp, tiff or webp");
  EXPECT_EQ(FormatsWhere([](const FormatTraits& t) { return t.lossless && t.keeps_alpha; }), "png, tiff or webp");
  EXPECT_NE(CheckLossless(ImageFormat::kJpeg).error().message.find("use png, bmp, tiff or webp"), std::string::npos);
}

TEST(Errors, NamesAreStableSnakeCase) {
  EXPECT_EQ(ErrorCodeName(ErrorCode::kInvalidArgument), "invalid_argument");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kCapacityExceeded), "capacity_exceeded");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kImageTooLarge), "image_too_large");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kUnsupportedImage), "unsupported_image");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kLossyOutput), "lossy_output");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kNoPayload), "no_payload");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kBadMagic), "bad_magic");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kUnsupportedVersion), "unsupported_version");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kTruncatedPayload), "truncated_payload");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kCrcMismatch), "crc_mismatch");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kPasswordRequired), "password_required");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kWrongPassword), "wrong_password");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kCorruptPayload), "corrupt_payload");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kOutputTooLarge), "output_too_large");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kInternal), "internal");
}

}  // namespace
}  // namespace stego
