// The replicated configuration's stego tunables and the engine agree on their ranges: the cluster
// knows nothing of stego, so its table states the LSB range again, and this test holds them equal.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "worker/cluster/config_store.h"
#include "worker/stego/engine.h"

namespace {

bool Accepts(int lsb_bits) {
  return cluster::ValidateConfig(cluster::DefaultConfig(), {{"default_lsb_bits", lsb_bits}}).has_value();
}

TEST(TunablesTest, TheConfigurationTakesExactlyTheEnginesLsbRange) {
  for (int bits = stego::kMinLsbBits; bits <= stego::kMaxLsbBits; ++bits) EXPECT_TRUE(Accepts(bits)) << bits;
  EXPECT_FALSE(Accepts(stego::kMinLsbBits - 1));
  EXPECT_FALSE(Accepts(stego::kMaxLsbBits + 1));
}

}  // namespace
