#include "operator/members/settings.h"

#include <nlohmann/json.hpp>

#include "operator/members/admin.h"

namespace stegocluster::members {

common::Expected<bool, std::string> EnsureClusterSettings(const std::string& ip, int port, const std::string& admin_key,
                                                          const ClusterSettings& want,
                                                          std::chrono::milliseconds timeout) {
  using common::Unexpected;
  const std::string where = ip + "/api/v1/config";
  auto got = CallMember(ip, port, admin_key, {.path = "/api/v1/config"}, timeout);
  if (!got) return Unexpected{got.error()};
  if (got->status != 200) return Unexpected{"GET " + where + ": " + std::to_string(got->status) + " " + got->body};
  const auto body = nlohmann::json::parse(got->body, nullptr, /*allow_exceptions=*/false);
  if (body.is_object() && body.value("config", nlohmann::json::object()).value("default_lsb_bits", 0) == want.default_lsb_bits) {
    return false;
  }
  auto put = CallMember(ip, port, admin_key,
                        {.method = "PUT",
                         .path = "/api/v1/config",
                         .body = nlohmann::json{{"default_lsb_bits", want.default_lsb_bits}}.dump(),
                         .content_type = "application/json"},
                        timeout);
  if (!put) return Unexpected{put.error()};
  if (put->status != 200) return Unexpected{"PUT " + where + ": " + std::to_string(put->status) + " " + put->body};
  return true;
}

}  // namespace stegocluster::members
