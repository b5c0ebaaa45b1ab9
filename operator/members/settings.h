// The cluster-wide settings a StegoCluster's spec gives its members (today the default LSB bits),
// written the way any admin writes them: through the members' configuration API (GET and PUT
// /api/v1/config with the admin key), which replicates them through Raft. Flags cannot carry them:
// they belong to the replicated state, and a flag would restart every pod to change one.
#pragma once

#include <chrono>
#include <string>

#include "common/expected.h"

namespace stegocluster::members {

struct ClusterSettings {
  int default_lsb_bits = 1;
};

// Reads the settings from the member at `ip`:`port` and writes those that differ (a follower
// forwards the write to the leader). Answers whether it wrote, or what failed.
common::Expected<bool, std::string> EnsureClusterSettings(const std::string& ip, int port, const std::string& admin_key,
                                                          const ClusterSettings& want,
                                                          std::chrono::milliseconds timeout);

}  // namespace stegocluster::members
