// The core's only source of randomness: a small seeded generator (SplitMix64), so that a given
// seed and input sequence always produce the same election timeouts (deterministic simulation).
#pragma once

#include <cstdint>

namespace raft {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}

  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n); n > 0. The modulo bias is irrelevant at our n (tens of ticks).
  std::uint64_t uniform(std::uint64_t n) { return next() % n; }

 private:
  std::uint64_t state_;
};

}  // namespace raft
