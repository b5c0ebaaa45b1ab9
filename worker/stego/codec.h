// Image files to pixels and back. Decoding is OpenCV's, behind a header probe that enforces the
// pixel limit before any allocation; encoding is lossless only: our PNG writer, or OpenCV for BMP,
// TIFF and lossless WebP.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "worker/stego/error.h"
#include "worker/stego/image.h"
#include "worker/stego/png_writer.h"
#include "worker/stego/probe.h"

namespace stego {

struct DecodeLimits {
  uint64_t max_pixels = 50'000'000;  // width * height, checked from the header before decoding
};

// kImageTooLarge when the probed image exceeds the limits.
Result<void> CheckLimits(const ImageInfo& info, const DecodeLimits& limits);

// ProbeImage, then CheckLimits: the header is enough to refuse an oversized image.
Result<ImageInfo> ProbeWithinLimits(std::span<const uint8_t> bytes, const DecodeLimits& limits);

// Probes, checks the limits, then decodes with every channel kept (alpha too). 16-bit images are
// scaled to 8 bits; JPEG covers are turned upright by their EXIF orientation. Result: 1, 3 or 4
// channels, as ProbeImage predicted, and the probed pixel count.
// (OpenCV 4.6 reads its own pixel limit only from the OPENCV_IO_MAX_IMAGE_PIXELS environment variable
// when the library loads, so it cannot follow `limits`; the probe is the guard.)
Result<Image> DecodeImage(std::span<const uint8_t> bytes, const DecodeLimits& limits = {});

// kLossyOutput for a format that does not keep every pixel bit (JPEG), so no image written in it
// can carry a payload. EncodeImage refuses those, and more depending on the image.
Result<void> CheckLossless(ImageFormat format);

// Encodes losslessly. Refused with kLossyOutput: JPEG; BMP of an image with any transparency (BMP
// keeps no alpha); WebP of an image with fully transparent pixels (OpenCV's lossless WebP lets
// libwebp rewrite the colour under alpha 0, which would destroy payload bits there). A gray image
// written as WebP decodes as BGR with B = G = R; Extract reads it back (see engine.h).
Result<std::vector<uint8_t>> EncodeImage(const Image& image, ImageFormat format);

// Encodes the template's image with its first rows replaced by `top` (an embed's StegoRows, see
// engine.h): as PNG only those rows' bands are deflated; other formats encode the whole image.
Result<std::vector<uint8_t>> EncodeImage(const PngTemplate& cover, const Image& top, ImageFormat format);

}  // namespace stego
