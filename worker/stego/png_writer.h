// A lean PNG encoder for the engine's lossless output: it spends its time where the embed request's
// latency is. (Decoding stays with OpenCV, see codec.h.)
//
// OpenCV's writer (libpng) tries every row filter on every row and deflates on one thread: 130-200 ms
// for a noisy 1920x1080 cover. This one applies the Sub filter to every row (on photographs as small
// as the adaptive choice, for a fraction of the cost), deflates with zlib's run-length strategy
// (Sub-filtered photographs have runs but few long matches, so an LZ77 search costs time for little
// gain), and cuts the rows into bands deflated in parallel (see parallel.h). The bands still form one
// valid zlib stream: every band but the last ends with a sync flush, which closes its last deflate
// block without marking it final and pads to a byte boundary, so the next band's blocks can follow
// byte for byte; the last band ends with the final block; the stream's Adler-32 is combined from the
// bands' checksums. Each band goes into its own IDAT chunk, which PNG allows.
#pragma once

#include <cstdint>
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

}  // namespace stego
