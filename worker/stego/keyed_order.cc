#include "worker/stego/keyed_order.h"

#include <cassert>
#include <numeric>
#include <utility>

namespace stego {
namespace {

// xoshiro256** (Blackman and Vigna), with its state taken from the 32-byte seed.
class Xoshiro256 {
 public:
  explicit Xoshiro256(const std::array<uint8_t, 32>& seed) {
    for (size_t i = 0; i < 32; ++i) state_[i / 8] |= uint64_t{seed[i]} << (8 * (i % 8));
    if ((state_[0] | state_[1] | state_[2] | state_[3]) == 0) state_[0] = 1;  // the one forbidden state
  }

  uint64_t Next() {
    const uint64_t result = Rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = Rotl(state_[3], 45);
    return result;
  }

  // Uniform in [0, bound) without modulo bias (Lemire, "Fast random integer generation in an interval").
  uint64_t Below(uint64_t bound) {
    __extension__ typedef unsigned __int128 uint128;
    uint128 product = static_cast<uint128>(Next()) * bound;
    if (static_cast<uint64_t>(product) < bound) {
      const uint64_t threshold = -bound % bound;
      while (static_cast<uint64_t>(product) < threshold) product = static_cast<uint128>(Next()) * bound;
    }
    return static_cast<uint64_t>(product >> 64);
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::array<uint64_t, 4> state_{};
};

}  // namespace

std::vector<uint32_t> KeyedOrder(const std::array<uint8_t, 32>& seed, size_t first_group, size_t candidates,
                                 size_t count) {
  assert(count <= candidates && first_group + candidates <= (size_t{1} << 32));
  std::vector<uint32_t> groups(candidates);
  std::iota(groups.begin(), groups.end(), static_cast<uint32_t>(first_group));
  Xoshiro256 rng(seed);
  for (size_t i = 0; i < count; ++i) std::swap(groups[i], groups[i + rng.Below(candidates - i)]);
  groups.resize(count);
  return groups;
}

}  // namespace stego
