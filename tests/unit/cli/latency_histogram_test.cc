#include "cli/latency_histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace stegoctl {
namespace {

using std::chrono::microseconds;

TEST(LatencyHistogram, AnEmptyOneAnswersZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.Quantile(0.5), microseconds(0));
  EXPECT_EQ(h.max(), microseconds(0));
}

TEST(LatencyHistogram, SmallValuesAreExact) {
  LatencyHistogram h;
  for (int v = 1; v <= 100; ++v) h.Record(microseconds(v));
  EXPECT_EQ(h.Quantile(0.5), microseconds(50));
  EXPECT_EQ(h.Quantile(0.99), microseconds(99));
  EXPECT_EQ(h.Quantile(1.0), microseconds(100));
  EXPECT_EQ(h.Quantile(0.0), microseconds(1));
}

// Against the exact order statistic of a wide spread of values (10 us to 100 s, log-uniform): every
// quantile is at or above it and within 1/64 of it.
TEST(LatencyHistogram, EveryQuantileIsWithinItsPrecision) {
  std::mt19937_64 random(7);
  std::uniform_real_distribution<double> exponent(1, 8);
  std::vector<std::int64_t> values;
  LatencyHistogram h;
  for (int i = 0; i < 100'000; ++i) {
    values.push_back(static_cast<std::int64_t>(std::pow(10, exponent(random))));
    h.Record(microseconds(values.back()));
  }
  std::sort(values.begin(), values.end());
  for (double q : {0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0}) {
    const auto exact = values[static_cast<std::size_t>(std::ceil(q * values.size())) - 1];
    const auto got = h.Quantile(q).count();
    EXPECT_GE(got, exact) << "q " << q;
    EXPECT_LE(got - exact, exact / 64 + 1) << "q " << q;
  }
  EXPECT_EQ(h.max().count(), values.back());
  EXPECT_EQ(h.Quantile(1.0).count(), values.back());
}

TEST(LatencyHistogram, MergingIsRecordingBoth) {
  LatencyHistogram a, b, both;
  for (int v = 0; v < 1000; ++v) {
    (v % 3 ? a : b).Record(microseconds(v * 37));
    both.Record(microseconds(v * 37));
  }
  a.Merge(b);
  EXPECT_EQ(a.count(), both.count());
  EXPECT_EQ(a.max(), both.max());
  for (double q : {0.1, 0.5, 0.99}) EXPECT_EQ(a.Quantile(q), both.Quantile(q));
}

TEST(LatencyHistogram, NegativeDurationsCountAsZero) {
  LatencyHistogram h;
  h.Record(microseconds(-5));
  EXPECT_EQ(h.count(), 1u);
  EXPECT_EQ(h.Quantile(1.0), microseconds(0));
}

}  // namespace
}  // namespace stegoctl
