// Reads an image's format and geometry from its file header alone, without decoding pixels, so a
// decompression bomb (a small file declaring 100000x100000 pixels) is refused before any allocation.
//
// Every read is bounds-checked: the bytes are hostile until proven otherwise. Only the five formats
// the engine accepts are recognised (PNG, BMP, TIFF, WebP, JPEG); anything else, or a header that is
// truncated or inconsistent, is kUnsupportedImage.
#pragma once

#include <cstdint>
#include <span>

#include "worker/stego/error.h"
#include "worker/stego/image.h"

namespace stego {

// What the header says, predicted the way OpenCV will decode it (a gray PNG with alpha decodes to
// BGRA, a CMYK JPEG to BGR, a 32-bit BMP without bit fields to BGR), so the capacity computed from
// it matches the decoded image.
struct ImageInfo {
  ImageFormat format;
  int width = 0;
  int height = 0;
  int colour_channels = 0;  // 1 (gray) or 3 (colour)
  bool has_alpha = false;   // decodes with a fourth (alpha) channel

  ImageDims dims() const { return {width, height, colour_channels}; }
  uint64_t pixel_count() const { return static_cast<uint64_t>(width) * static_cast<uint64_t>(height); }
};

Result<ImageInfo> ProbeImage(std::span<const uint8_t> bytes);

}  // namespace stego
