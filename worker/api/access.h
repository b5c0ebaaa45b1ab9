// AccessControl: who may call which route. Every route is registered with an Access level
// (endpoints.h), and the check runs before the handler:
//   kPublic  anyone (probes, metrics, the OpenAPI document, the cluster's status pages)
//   kUser    anyone while no API key exists; once keys are configured, a bearer token that is a
//            user or admin key, or the --admin-key
//   kAdmin   the --admin-key, or an admin-role API key; 403 admin_disabled when neither exists
// Answers: 401 (with WWW-Authenticate: Bearer) without a token or with an unknown one, 403 with a
// valid token whose role is too low.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "worker/http/request.h"
#include "worker/http/response.h"

namespace api {

enum class Access { kPublic, kUser, kAdmin };
enum class Role { kUser, kAdmin };

class AccessControl {
 public:
  // The role of an API key given as a bearer token, or nullopt for an unknown token.
  using KeyLookup = std::function<std::optional<Role>(std::string_view token)>;
  // Whether any API key exists (of any role): from then on kUser routes need a token.
  using KeysExist = std::function<bool()>;

  // Without a lookup (a standalone worker), the admin key is the only credential.
  explicit AccessControl(std::string admin_key, KeyLookup lookup = nullptr, KeysExist keys_exist = nullptr);

  // The refusal to answer, or nullopt when the request may go on.
  std::optional<http::Response> Check(const http::Request& request, Access access) const;

 private:
  std::optional<Role> RoleOf(std::string_view token) const;

  std::string admin_key_;
  KeyLookup lookup_;
  KeysExist keys_exist_;
};

}  // namespace api
