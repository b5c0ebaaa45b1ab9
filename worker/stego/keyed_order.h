// The keyed pixel order: with a password, the body's groups (lsb.h) are visited in a pseudo-random
// order derived from the password instead of front to back, so the payload is spread over the whole
// image and nobody without the password knows which pixels carry it.
//
// The order is the start of a Fisher-Yates shuffle of the candidate groups, driven by xoshiro256**
// seeded from the derived key, with Lemire's unbiased bounded integers. Only integer arithmetic:
// the same seed gives the same order on every machine and every run, which extraction relies on.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace stego {

// The first `count` groups of a keyed shuffle of groups [first_group, first_group + candidates).
// Precondition: count <= candidates, first_group + candidates < 2^32.
std::vector<uint32_t> KeyedOrder(const std::array<uint8_t, 32>& seed, size_t first_group, size_t candidates,
                                 size_t count);

}  // namespace stego
