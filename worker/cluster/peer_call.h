// Authenticated calls to another member's peer port (join, cluster probe, load, dispatched jobs),
// on cpprestsdk's http_client. Kept apart so only this file pays for cpprestsdk's headers.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "worker/raft/transport/peer_client.h"

namespace cluster {

using raft::transport::PeerAuth;

using HeaderPairs = std::vector<std::pair<std::string, std::string>>;

struct PeerExchange {
  int status = 0;  // 0: no answer (refused, reset, timed out, not HTTP)
  HeaderPairs headers;
  std::string body;
};

// One request with a raw body (path may carry a query). Never throws.
PeerExchange ExchangeWithPeer(const std::string& address, const std::string& method, const std::string& path,
                              const PeerAuth& auth, const HeaderPairs& headers, const std::string& body,
                              std::chrono::milliseconds timeout);

struct PeerReply {
  int status = 0;  // 0: no answer (refused, timed out, not HTTP)
  nlohmann::json body;
};

// One JSON call (a null body sends none).
PeerReply CallPeer(const std::string& address, const std::string& method, const std::string& path,
                   const PeerAuth& auth, const nlohmann::json& body,
                   std::chrono::milliseconds timeout);

}  // namespace cluster
