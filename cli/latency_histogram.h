// LatencyHistogram: latencies recorded in microseconds into log-linear buckets, as HdrHistogram
// does: 128 exact buckets below 128 us, then 64 buckets per power of two, so every percentile it
// answers is within 1/64 (1.6 %) of the true value, in constant memory and O(1) per record
// whatever the run's length. Pure; not thread-safe (each bench client keeps its own and they are
// merged at the end).
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

namespace stegoctl {

class LatencyHistogram {
 public:
  LatencyHistogram();

  void Record(std::chrono::microseconds latency);
  void Merge(const LatencyHistogram& other);

  std::uint64_t count() const { return count_; }
  std::chrono::microseconds max() const { return std::chrono::microseconds(max_); }
  // The smallest recorded value v such that a fraction q (0..1) of the records are <= v, to the
  // bucket's precision (its upper bound, capped at the maximum); 0 when empty.
  std::chrono::microseconds Quantile(double q) const;

 private:
  std::vector<std::uint64_t> buckets_;
  std::uint64_t count_ = 0;
  std::int64_t max_ = 0;
};

}  // namespace stegoctl
