// The address and CIDR grammar of --trusted-proxies and spec.worker.trustedProxies.
#include "common/ip_network.h"

#include <gtest/gtest.h>

namespace common {
namespace {

void ExpectNetwork(std::string_view text, std::string_view address, unsigned prefix) {
  const auto network = ParseIpNetwork(text);
  ASSERT_TRUE(network) << text;
  EXPECT_EQ(network->address, address) << text;
  EXPECT_EQ(network->prefix, prefix) << text;
}

TEST(IpNetwork, AnAddressIsItsOwnNetwork) {
  ExpectNetwork("192.0.2.7", "192.0.2.7", 32);
  ExpectNetwork("fd00::1", "fd00::1", 128);
}

TEST(IpNetwork, ABlockKeepsItsPrefixAndLosesItsHostBits) {
  ExpectNetwork("10.0.0.0/8", "10.0.0.0", 8);
  ExpectNetwork("10.42.7.9/16", "10.42.0.0", 16);
  ExpectNetwork("0.0.0.0/0", "0.0.0.0", 0);
  ExpectNetwork("fd00:1:2::5/48", "fd00:1:2::", 48);
  ExpectNetwork("::/0", "::", 0);
}

TEST(IpNetwork, AnythingElseIsRefused) {
  for (std::string_view bad : {"", "/8", "10.0.0.0/", "10.0.0.0/33", "fd00::/129", "10.0.0.0/8x", "10.0.0.0/-1",
                               "10.0.0.0/ 8", " 10.0.0.0", "10.0.0", "ingress.local", "10.0.0.0/8,10.1.0.0/16"}) {
    EXPECT_FALSE(ParseIpNetwork(bad)) << "'" << bad << "'";
  }
}

}  // namespace
}  // namespace common
