#include "worker/api/access.h"

#include "worker/http/auth.h"

namespace api {

AccessControl::AccessControl(std::string admin_key, KeyLookup lookup, KeysExist keys_exist)
    : admin_key_(std::move(admin_key)), lookup_(std::move(lookup)), keys_exist_(std::move(keys_exist)) {}

std::optional<Role> AccessControl::RoleOf(std::string_view token) const {
  if (!admin_key_.empty() && http::SameSecret(token, admin_key_)) return Role::kAdmin;
  return lookup_ ? lookup_(token) : std::nullopt;
}

std::optional<http::Response> AccessControl::Check(const http::Request& request, Access access) const {
  if (access == Access::kPublic) return std::nullopt;
  const bool keys = keys_exist_ && keys_exist_();
  if (access == Access::kUser && !keys) return std::nullopt;
  if (access == Access::kAdmin && admin_key_.empty() && !keys) {
    return http::Response::Error(request, 403, "admin_disabled", "admin endpoints are disabled",
                                 "start the worker with --admin-key (or STEGO_ADMIN_KEY) to enable them");
  }
  const auto token = http::BearerToken(request);
  const auto role = token ? RoleOf(*token) : std::nullopt;
  if (!role) {
    auto response = http::Response::Error(request, 401, "unauthorized",
                                          token ? "unknown API key" : "API key required",
                                          access == Access::kAdmin ? "send Authorization: Bearer <admin key>"
                                                                   : "send Authorization: Bearer <API key>");
    response.headers.Set("WWW-Authenticate", "Bearer");
    return response;
  }
  if (access == Access::kAdmin && *role != Role::kAdmin) {
    return http::Response::Error(request, 403, "forbidden", "admin role required",
                                 "this API key has the user role; the route needs an admin key");
  }
  return std::nullopt;
}

}  // namespace api
