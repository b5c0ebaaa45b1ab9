// One authenticated JSON call to another member's peer port (join, cluster probe), on
// cpprestsdk's http_client. Kept apart so only this file pays for cpprestsdk's headers.
#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

namespace cluster {

struct PeerReply {
  int status = 0;  // 0: no answer (refused, timed out, not HTTP)
  nlohmann::json body;
};

PeerReply CallPeer(const std::string& address, const std::string& method, const std::string& path,
                   const std::string& secret, const nlohmann::json& body,
                   std::chrono::milliseconds timeout);

}  // namespace cluster
