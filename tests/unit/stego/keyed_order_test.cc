#include "worker/stego/keyed_order.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>

namespace stego {
namespace {

std::array<uint8_t, 32> Seed(uint8_t fill) {
  std::array<uint8_t, 32> seed;
  std::iota(seed.begin(), seed.end(), fill);
  return seed;
}

TEST(KeyedOrder, IsASubsetOfDistinctCandidateGroups) {
  const std::vector<uint32_t> order = KeyedOrder(Seed(1), 100, 5000, 1200);
  ASSERT_EQ(order.size(), 1200u);
  const std::set<uint32_t> distinct(order.begin(), order.end());
  EXPECT_EQ(distinct.size(), order.size());
  EXPECT_GE(*distinct.begin(), 100u);
  EXPECT_LT(*distinct.rbegin(), 5100u);
}

TEST(KeyedOrder, FullLengthIsAPermutation) {
  std::vector<uint32_t> order = KeyedOrder(Seed(2), 7, 1000, 1000);
  std::sort(order.begin(), order.end());
  for (uint32_t i = 0; i < 1000; ++i) ASSERT_EQ(order[i], 7 + i);
}

TEST(KeyedOrder, IsNotSequentialAndSpreadsOverTheImage) {
  const std::vector<uint32_t> order = KeyedOrder(Seed(3), 0, 100000, 100);
  std::vector<uint32_t> sequential(100);
  std::iota(sequential.begin(), sequential.end(), 0u);
  EXPECT_NE(order, sequential);
  // 100 draws from 100000: some land in the last half with overwhelming probability.
  EXPECT_TRUE(std::any_of(order.begin(), order.end(), [](uint32_t g) { return g >= 50000; }));
}

TEST(KeyedOrder, IsDeterministicAndDependsOnTheSeed) {
  EXPECT_EQ(KeyedOrder(Seed(4), 10, 10000, 500), KeyedOrder(Seed(4), 10, 10000, 500));
  EXPECT_NE(KeyedOrder(Seed(4), 10, 10000, 500), KeyedOrder(Seed(5), 10, 10000, 500));
  // A prefix of a longer order is the shorter order: extraction may ask for fewer groups.
  const std::vector<uint32_t> longer = KeyedOrder(Seed(4), 10, 10000, 800);
  EXPECT_EQ(std::vector<uint32_t>(longer.begin(), longer.begin() + 500), KeyedOrder(Seed(4), 10, 10000, 500));
}

// Golden values: the order must be identical on every machine and build, or payloads embedded on
// one worker could not be extracted on another. Computed once from the implementation.
TEST(KeyedOrder, MatchesGoldenValues) {
  const std::vector<uint32_t> order = KeyedOrder(Seed(0), 0, 1u << 20, 6);
  EXPECT_EQ(order, (std::vector<uint32_t>{770648, 153840, 5058, 396953, 486351, 563590}));
}

}  // namespace
}  // namespace stego
