#include "worker/cluster/key_store.h"

#include <algorithm>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "worker/cluster/hex.h"

namespace cluster {
namespace {

using json = nlohmann::json;

constexpr std::string_view kSecretPrefix = "stego_";  // recognisable in logs and by secret scanners
constexpr std::size_t kSecretBytes = 32;
constexpr std::size_t kIdBytes = 8;
constexpr std::size_t kMaxNameLength = 64;
constexpr std::size_t kMaxCreatedAtLength = 32;

// A command's string field, or "" when it is absent or not a string.
std::string StringField(const json& header, const char* key) {
  const auto it = header.find(key);
  return it != header.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

std::string_view KeyRoleName(KeyRole role) { return role == KeyRole::kAdmin ? "admin" : "user"; }

std::optional<KeyRole> KeyRoleFromName(std::string_view name) {
  if (name == "user") return KeyRole::kUser;
  if (name == "admin") return KeyRole::kAdmin;
  return std::nullopt;
}

// Id and secret are separate HMACs of the seed, so the public id tells nothing of the secret.
// URL-safe base64 without padding: the secret travels in headers and shells unquoted.
KeyMaterial NewKeyMaterial(std::optional<std::string_view> seed) {
  const std::string drawn = seed ? std::string(*seed) : RandomBytes(kSecretBytes);
  return {Hex(HmacSha256(drawn, "api key id").substr(0, kIdBytes)),
          std::string(kSecretPrefix) + common::Base64UrlEncode(HmacSha256(drawn, "api key secret"))};
}

std::string HashKeySecret(std::string_view secret) { return Sha256Hex(secret); }

Outcome CheckKeyName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) {
    return Refuse("name must be 1-" + std::to_string(kMaxNameLength) + " characters");
  }
  const bool allowed = std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ' ' || c == '.' ||
           c == '_' || c == '-';
  });
  if (!allowed) return Refuse("name may hold only letters, digits, spaces, '.', '_' and '-'");
  return {};
}

std::string EncodeCreateKey(const ApiKey& key, std::string_view hash) {
  return EncodeCommand({{"op", "create_key"},
                        {"id", key.id},
                        {"name", key.name},
                        {"role", KeyRoleName(key.role)},
                        {"created_at", key.created_at},
                        {"hash", hash}});
}

std::string EncodeDeleteKey(std::string_view id) { return EncodeCommand({{"op", "delete_key"}, {"id", id}}); }

Outcome KeyStore::Apply(raft::Index index, const Command& command) {
  if (command.op() == "create_key") return Create(index, command.header);
  std::lock_guard lk(mu_);
  const auto it = by_id_.find(StringField(command.header, "id"));
  if (it == by_id_.end()) return Refuse("no such API key");
  id_by_hash_.erase(it->second.hash);
  by_id_.erase(it);
  return {};
}

Outcome KeyStore::Create(raft::Index index, const json& header) {
  Stored s{{StringField(header, "id"), StringField(header, "name"), KeyRole::kUser, StringField(header, "created_at")},
           StringField(header, "hash"), index};
  const auto role = KeyRoleFromName(StringField(header, "role"));
  if (!role || !IsLowerHex(s.key.id, 2 * kIdBytes) || !IsLowerHex(s.hash, 64) ||
      s.key.created_at.empty() || s.key.created_at.size() > kMaxCreatedAtLength) {
    return Refuse("malformed create_key command");
  }
  s.key.role = *role;
  if (auto valid = CheckKeyName(s.key.name); !valid) return valid;
  std::lock_guard lk(mu_);
  if (auto room = WhyNotAddLocked(s.key.name); !room) return room;
  if (by_id_.contains(s.key.id) || id_by_hash_.contains(s.hash)) return Refuse("the key's id or secret is already in use");
  Insert(std::move(s));
  return {};
}

void KeyStore::Insert(Stored stored) {
  id_by_hash_[stored.hash] = stored.key.id;
  std::string id = stored.key.id;
  by_id_.emplace(std::move(id), std::move(stored));
}

Outcome KeyStore::WhyNotAdd(std::string_view name) const {
  std::lock_guard lk(mu_);
  return WhyNotAddLocked(name);
}

Outcome KeyStore::WhyNotAddLocked(std::string_view name) const {
  if (by_id_.size() >= kMaxKeys) return Refuse("the cluster holds the most API keys allowed (" + std::to_string(kMaxKeys) + ")");
  for (const auto& [id, s] : by_id_) {
    if (s.key.name == name) return Refuse("an API key named \"" + std::string(name) + "\" exists (id " + id + ")");
  }
  return {};
}

std::string KeyStore::Snapshot() const {
  std::lock_guard lk(mu_);
  json keys = json::array();
  for (const auto& [id, s] : by_id_) {
    keys.push_back({{"id", id},
                    {"name", s.key.name},
                    {"role", KeyRoleName(s.key.role)},
                    {"created_at", s.key.created_at},
                    {"hash", s.hash},
                    {"index", s.index}});
  }
  return json{{"keys", keys}}.dump();
}

void KeyStore::Restore(std::string_view data) {
  std::lock_guard lk(mu_);
  by_id_.clear();
  id_by_hash_.clear();
  if (data.empty()) return;
  const json snapshot = json::parse(data);
  for (const json& k : snapshot.at("keys")) {
    const auto role = KeyRoleFromName(k.at("role").get<std::string>());
    if (!role) throw std::runtime_error("cluster: the snapshot holds an API key with an unknown role");
    Insert({{k.at("id").get<std::string>(), k.at("name").get<std::string>(), *role,
             k.at("created_at").get<std::string>()},
            k.at("hash").get<std::string>(),
            k.at("index").get<raft::Index>()});
  }
}

std::optional<KeyRole> KeyStore::RoleOf(std::string_view token) const {
  const std::string hash = HashKeySecret(token);  // outside the lock: every API call comes here
  std::lock_guard lk(mu_);
  const auto it = id_by_hash_.find(hash);
  if (it == id_by_hash_.end()) return std::nullopt;
  return by_id_.find(it->second)->second.key.role;
}

bool KeyStore::empty() const {
  std::lock_guard lk(mu_);
  return by_id_.empty();
}

std::optional<ApiKey> KeyStore::Find(std::string_view id) const {
  std::lock_guard lk(mu_);
  const auto it = by_id_.find(id);
  if (it == by_id_.end()) return std::nullopt;
  return it->second.key;
}

std::vector<ApiKey> KeyStore::List() const {
  std::vector<const Stored*> stored;
  std::vector<ApiKey> out;
  std::lock_guard lk(mu_);
  for (const auto& [id, s] : by_id_) stored.push_back(&s);
  std::sort(stored.begin(), stored.end(), [](const Stored* a, const Stored* b) { return a->index < b->index; });
  for (const Stored* s : stored) out.push_back(s->key);
  return out;
}

}  // namespace cluster
