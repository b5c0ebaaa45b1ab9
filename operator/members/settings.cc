#include "operator/members/settings.h"

#include <nlohmann/json.hpp>

#include "operator/kube/transport.h"

namespace stegocluster::members {

common::Expected<bool, std::string> EnsureClusterSettings(const std::string& ip, int port, const std::string& admin_key,
                                                          const ClusterSettings& want,
                                                          std::chrono::milliseconds timeout) {
  using common::Unexpected;
  const std::string where = "http://" + ip + ":" + std::to_string(port);
  auto transport = kube::Transport::Create({.server = where, .token = admin_key}, timeout);
  if (!transport) return Unexpected{transport.error()};
  auto got = (*transport)->Send({.path = "/api/v1/config"});
  if (!got) return Unexpected{"GET " + where + "/api/v1/config: " + got.error()};
  if (got->status != 200) return Unexpected{"GET " + where + "/api/v1/config: " + std::to_string(got->status) + " " + got->body};
  const auto body = nlohmann::json::parse(got->body, nullptr, /*allow_exceptions=*/false);
  if (body.is_object() && body.value("config", nlohmann::json::object()).value("default_lsb_bits", 0) == want.default_lsb_bits) {
    return false;
  }
  auto put = (*transport)->Send({.method = "PUT",
                                 .path = "/api/v1/config",
                                 .body = nlohmann::json{{"default_lsb_bits", want.default_lsb_bits}}.dump(),
                                 .content_type = "application/json"});
  if (!put) return Unexpected{"PUT " + where + "/api/v1/config: " + put.error()};
  if (put->status != 200) return Unexpected{"PUT " + where + "/api/v1/config: " + std::to_string(put->status) + " " + put->body};
  return true;
}

}  // namespace stegocluster::members
