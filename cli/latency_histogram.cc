#include "cli/latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace stegoctl {
namespace {

constexpr int kSubBits = 6;                          // 64 buckets per power of two
constexpr std::uint64_t kExact = 2u << kSubBits;      // values below 128 have a bucket each
constexpr int kPowers = 64 - (kSubBits + 1);          // the powers of two above them
constexpr std::size_t kBuckets = kExact + kPowers * (1u << kSubBits);

std::size_t BucketOf(std::uint64_t v) {
  if (v < kExact) return v;
  const int shift = std::bit_width(v) - (kSubBits + 1);  // >= 1
  return kExact + (shift - 1) * (1u << kSubBits) + ((v >> shift) - (1u << kSubBits));
}

// The largest value that falls in bucket b.
std::uint64_t UpperBound(std::size_t b) {
  if (b < kExact) return b;
  const std::size_t above = b - kExact;
  const int shift = static_cast<int>(above >> kSubBits) + 1;
  const std::uint64_t sub = (above & ((1u << kSubBits) - 1)) + (1u << kSubBits);
  return ((sub + 1) << shift) - 1;
}

}  // namespace

LatencyHistogram::LatencyHistogram() : buckets_(kBuckets, 0) {}

void LatencyHistogram::Record(std::chrono::microseconds latency) {
  const std::int64_t v = std::max<std::int64_t>(latency.count(), 0);
  ++buckets_[BucketOf(static_cast<std::uint64_t>(v))];
  ++count_;
  max_ = std::max(max_, v);
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (std::size_t b = 0; b < kBuckets; ++b) buckets_[b] += other.buckets_[b];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
}

std::chrono::microseconds LatencyHistogram::Quantile(double q) const {
  if (count_ == 0) return std::chrono::microseconds(0);
  const auto rank = static_cast<std::uint64_t>(std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(count_)));
  std::uint64_t seen = 0;
  for (std::size_t b = 0; b < kBuckets; ++b) {
    seen += buckets_[b];
    if (seen >= std::max<std::uint64_t>(rank, 1)) {
      const std::uint64_t bound = std::min(UpperBound(b), static_cast<std::uint64_t>(max_));
      return std::chrono::microseconds(static_cast<std::int64_t>(bound));
    }
  }
  return std::chrono::microseconds(max_);
}

}  // namespace stegoctl
