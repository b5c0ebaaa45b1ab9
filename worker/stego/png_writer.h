// A lean PNG encoder for the engine's lossless output: it spends its time where the embed request's
// latency is. (Decoding stays with OpenCV, see codec.h.)
//
// Every row is Paeth-filtered (the filter that predicts smooth light and gradients best, and is as
// good as any on noisy photographs; see docs/benchmarks.md), deflated by zlib at level 1 with its
// run-length strategy (filtered photographs and embedded payload bits have runs but few long
// matches, so an LZ77 search costs time for little gain). Rows are cut into bands deflated in
// parallel (see parallel.h). The bands still form one valid zlib stream: every band but the last
// ends with a sync flush, which closes its last deflate block without marking it final and pads to
// a byte boundary, so the next band's blocks can follow byte for byte; the last band ends with the
// final block; the stream's Adler-32 is combined from the bands' checksums. Each band goes into its
// own IDAT chunk, which PNG allows.
//
// Bands are independent, so a band can also be encoded once and reused: a PngTemplate holds a
// cover's bands, and writing the cover with its first rows changed (what an embed without a password
// does) deflates only the bands those rows reach.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "worker/stego/error.h"
#include "worker/stego/image.h"

namespace stego {

struct PngOptions {
  int bands = 0;  // row bands deflated in parallel; 0 picks from the image size and the cores
};

// Encodes an 8-bit gray, BGR or BGRA image (see image.h) as a PNG file.
// kInvalidArgument for an empty or inconsistent image; kInternal if zlib fails.
Result<std::vector<uint8_t>> WritePng(const Image& image, const PngOptions& options = {});

// An image's PNG encoded ahead, band by band, for images that differ from it only in their first
// rows. Immutable once prepared, so any number of threads may Write at once.
class PngTemplate {
 public:
  struct Band;

  // Encodes `image` (kept, shared) in bands. Bands that compress well are deflated a second time,
  // harder, since the cost is paid once: a smooth cover's PNG then comes out several times smaller.
  // Errors as WritePng's.
  static Result<PngTemplate> Prepare(std::shared_ptr<const Image> image);

  // The PNG of the template's image with its first top.height rows replaced by `top` (same width
  // and channels, at most as many rows): those bands are deflated now, the others copied.
  // kInvalidArgument if `top` does not fit.
  Result<std::vector<uint8_t>> Write(const Image& top) const;

  const Image& image() const { return *image_; }

 private:
  PngTemplate(std::shared_ptr<const Image> image, int rows_per_band, std::vector<std::shared_ptr<const Band>> bands);

  std::shared_ptr<const Image> image_;
  int rows_per_band_ = 0;
  std::vector<std::shared_ptr<const Band>> bands_;
};

}  // namespace stego
