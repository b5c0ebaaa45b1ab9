// Deterministic synthetic covers: the worker's default cover and the /dataset test images.
//
// They should behave like photographs for the two things that care: LSB embedding (no flat areas
// whose low bits are all equal) and PNG size (smooth light, shapes and mild sensor noise, not white
// noise). Only integer arithmetic and a fixed generator (splitmix64) are used, so the same arguments
// give the same pixels on every run, compiler and machine.
#pragma once

#include <cstdint>

#include "worker/stego/error.h"
#include "worker/stego/image.h"

namespace stego {

// A width x height cover with 1 (gray), 3 (BGR) or 4 (BGRA, alpha fading towards the corners but
// never fully transparent) channels.
Image SyntheticCover(int width, int height, uint64_t seed, int channels = 3);

// The worker's default cover: 1920x1080 BGR, the same pixels on every member.
Image DefaultCover();

inline constexpr int kDatasetSize = 50;

// Dataset image `index` in [0, kDatasetSize): sizes from 256x256 to 640x480, mostly BGR, every
// fifth BGRA and every seventh gray. Each one's PNG fits the default cover at 1 LSB, since the
// prototype's clients (its loadgen and GUI stress test) embed dataset images into it as secrets.
// kInvalidArgument outside the range.
Result<Image> DatasetImage(int index);

}  // namespace stego
