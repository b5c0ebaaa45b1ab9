#include "worker/api/key_routes.h"

#include <nlohmann/json.hpp>

#include "worker/api/errors.h"
#include "worker/api/replicated.h"
#include "worker/cluster/key_store.h"
#include "worker/cluster/member.h"

namespace api {
namespace {

using json = nlohmann::json;

json KeyJson(const cluster::ApiKey& key) {
  return {{"id", key.id}, {"name", key.name}, {"role", cluster::KeyRoleName(key.role)}, {"created_at", key.created_at}};
}

// The name and role a POST asks for, or the 400 naming the field at fault.
Answer<cluster::ApiKey> ParseNewKey(const http::Request& request) {
  using Refused = common::Unexpected<http::Response>;
  const json body = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object()) {
    return Refused{BadParameter(request, "body", R"(send {"name": "...", "role": "user"|"admin"})")};
  }
  for (const auto& [field, value] : body.items()) {
    if (field != "name" && field != "role") return Refused{BadParameter(request, field, "unknown field")};
  }
  cluster::ApiKey key;
  const auto name = body.find("name");
  if (name == body.end() || !name->is_string()) return Refused{BadParameter(request, "name", "a string is required")};
  key.name = name->get<std::string>();
  if (auto valid = cluster::CheckKeyName(key.name); !valid) {
    return Refused{BadParameter(request, "name", valid.error().message)};
  }
  std::optional<cluster::KeyRole> role = cluster::KeyRole::kUser;  // the least privilege unless asked
  if (const auto it = body.find("role"); it != body.end()) {
    role = it->is_string() ? cluster::KeyRoleFromName(it->get<std::string>()) : std::nullopt;
  }
  if (!role) return Refused{BadParameter(request, "role", R"(must be "user" or "admin")")};
  key.role = *role;
  return key;
}

http::Response CreateKey(const http::Request& request, cluster::ClusterMember& m) {
  auto key = ParseNewKey(request);
  if (!key) return std::move(key.error());
  auto asked = ClientRequestKey(request);
  if (!asked) return std::move(asked.error());
  // Checked again when applied; asked here for a clear answer in the common case, once this
  // member is up to date: one behind the others may still hold a key deleted since.
  const auto refusal = [&]() -> std::optional<std::string> {
    auto room = m.state().keys().WhyNotAdd(key->name);
    if (room || AlreadyApplied(m, *asked)) return std::nullopt;
    return room.error().message;
  };
  if (refusal()) {
    if (auto stale = ConfirmFresh(request, m)) return std::move(*stale);
    if (auto why = refusal()) return http::Response::Error(request, 409, "key_conflict", "the key cannot be added", *why);
  }
  // Under an Idempotency-Key every try derives the same key, so a retry answers the secret of
  // the key the first try created; the cluster secret keeps it unguessable.
  const cluster::KeyMaterial material =
      *asked ? cluster::NewKeyMaterial(m.Derive((*asked)->key + "\n" + (*asked)->digest)) : cluster::NewKeyMaterial();
  key->id = material.id;
  key->created_at = NowRfc3339();
  if (auto committed = Commit(request, m, cluster::EncodeCreateKey(*key, cluster::HashKeySecret(material.secret)), *asked);
      !committed) {
    return std::move(committed.error());
  }
  if (auto created = m.state().keys().Find(key->id)) *key = *created;  // a retry: the first try's key
  json body = KeyJson(*key);
  body["key"] = material.secret;
  auto response = http::Response::Json(201, body);
  response.headers.Set("Cache-Control", "no-store");  // the only copy of the secret
  return response;
}

http::Response DeleteKey(const http::Request& request, cluster::ClusterMember& m) {
  const std::string id(request.Param("id"));
  const cluster::KeyStore& keys = m.state().keys();
  auto asked = ClientRequestKey(request);
  if (!asked) return std::move(asked.error());
  const auto known = [&] { return keys.Find(id) || AlreadyApplied(m, *asked); };
  if (!known()) {
    // This member may not have applied the key's creation yet (it was created through another
    // member a moment ago): ask again once it has applied everything committed.
    if (auto stale = ConfirmFresh(request, m)) return std::move(*stale);
    if (!known()) return http::Response::Error(request, 404, "no_such_key", "no such API key", id);
  }
  if (auto committed = Commit(request, m, cluster::EncodeDeleteKey(id), *asked); !committed) {
    return std::move(committed.error());
  }
  http::Response deleted;
  deleted.status = 204;
  return deleted;
}

http::Response ListKeys(const http::Request& request, cluster::ClusterMember& m) {
  if (auto refused = ConfirmFreshIfAsked(request, m)) return std::move(*refused);
  json keys = json::array();
  for (const auto& key : m.state().keys().List()) keys.push_back(KeyJson(key));
  return http::Response::Json(200, json{{"keys", keys}});
}

}  // namespace

AccessControl ApiKeyAccess(std::string admin_key, const cluster::ClusterMember* member) {
  if (!member) return AccessControl(std::move(admin_key));
  const cluster::KeyStore& keys = member->state().keys();
  return AccessControl(
      std::move(admin_key),
      [&keys](std::string_view token) -> std::optional<Role> {
        const auto role = keys.RoleOf(token);
        if (!role) return std::nullopt;
        return *role == cluster::KeyRole::kAdmin ? Role::kAdmin : Role::kUser;
      },
      [&keys] { return !keys.empty(); });
}

void AddKeyRoutes(Endpoints& endpoints, cluster::ClusterMember* member) {
  endpoints.Add("POST", "/api/v1/keys", Access::kAdmin, OnMember(member, CreateKey),
                {.name = "keys_create", .compute = true, .max_body_bytes = 4 << 10});
  endpoints.Add("GET", "/api/v1/keys", Access::kAdmin, OnMember(member, ListKeys),
                {.name = "keys_list", .compute = true});
  endpoints.Add("DELETE", "/api/v1/keys/{id}", Access::kAdmin, OnMember(member, DeleteKey),
                {.name = "keys_delete", .compute = true, .max_body_bytes = 4 << 10});
}

}  // namespace api
