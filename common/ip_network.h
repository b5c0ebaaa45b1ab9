// IP networks as the worker's --trusted-proxies and the StegoCluster's spec.worker.trustedProxies
// give them: one grammar for the flag and for the operator that writes it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace common {

struct IpNetwork {
  std::string address;  // the network's first address, host bits cleared ("10.0.0.0", "fd00::")
  unsigned prefix = 0;  // 32 or 128 for a single address
};

// "10.0.0.0/8", "fd00::/8" or one address ("192.0.2.7", a /32). Nothing else: no host names, no
// spaces, no prefix longer than the family's.
std::optional<IpNetwork> ParseIpNetwork(std::string_view text);

}  // namespace common
