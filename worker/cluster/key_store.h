// KeyStore: the replicated API keys (POST/GET/DELETE /api/v1/keys). Each key has a public id, a
// name, a role (user or admin) and a creation time; its secret exists only in the answer to the
// POST that created it. The member that receives the POST draws the secret and proposes only its
// SHA-256, so neither the Raft log, nor snapshots, nor any other member ever hold it.
//
// Plain SHA-256 is enough here, where a password would need a slow KDF: the secret is 256 random
// bits, so its hash cannot be inverted by guessing, and a fast hash keeps the per-request lookup
// cheap. Looking the hash up in a map leaks only how the hash of the *given* token compares to
// stored hashes, which says nothing useful about any stored secret.
//
// Apply checks every command against the keys current at its log index (name unique, at most
// kMaxKeys), like ConfigStore, so every member takes the same decision. The proposer chooses the
// id and the creation time and puts them in the command, so applying it is deterministic.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "worker/cluster/state_section.h"

namespace cluster {

enum class KeyRole { kUser, kAdmin };
std::string_view KeyRoleName(KeyRole role);                  // "user", "admin"
std::optional<KeyRole> KeyRoleFromName(std::string_view name);

// What every member knows of a key; never the secret, and the hash stays inside the store.
struct ApiKey {
  std::string id;          // public, short, random
  std::string name;        // the administrator's label, unique
  KeyRole role = KeyRole::kUser;
  std::string created_at;  // RFC 3339 UTC, chosen by the proposer
  bool operator==(const ApiKey&) const = default;
};

// A new key's id (8 bytes in hex) and secret ("stego_" + 32 bytes, URL-safe base64), derived from
// `seed`: 32 random bytes (OpenSSL's CSPRNG; throws std::runtime_error if it fails) unless given.
// A creation retried under the client's Idempotency-Key passes a seed derived from that key, so
// that the retry answers the same id and secret as the first try.
struct KeyMaterial {
  std::string id;
  std::string secret;
};
KeyMaterial NewKeyMaterial(std::optional<std::string_view> seed = std::nullopt);
std::string HashKeySecret(std::string_view secret);  // SHA-256, lower-case hex
// Whether `name` is a valid key name (1-64 of letters, digits, space, '.', '_', '-'); kRefused says why not.
Outcome CheckKeyName(std::string_view name);

// The commands. `hash` is HashKeySecret(secret).
std::string EncodeCreateKey(const ApiKey& key, std::string_view hash);
std::string EncodeDeleteKey(std::string_view id);

class KeyStore final : public StateSection {
 public:
  static constexpr std::size_t kMaxKeys = 1000;

  std::string_view name() const override { return "keys"; }
  bool Owns(std::string_view op) const override { return op == "create_key" || op == "delete_key"; }
  Outcome Apply(raft::Index index, const Command& command) override;
  std::string Snapshot() const override;
  void Restore(std::string_view data) override;

  // The role of the key whose secret is `token`, or nullopt.
  std::optional<KeyRole> RoleOf(std::string_view token) const;
  bool empty() const;
  std::vector<ApiKey> List() const;  // in the order they were created
  std::optional<ApiKey> Find(std::string_view id) const;
  // Whether a key named `name` can be added now; kRefused says why not (name taken, limit
  // reached). Apply checks the same; the proposer asks first for a clear answer.
  Outcome WhyNotAdd(std::string_view name) const;

 private:
  struct Stored {
    ApiKey key;
    std::string hash;
    raft::Index index = 0;  // where it was created: the listing order
  };
  Outcome WhyNotAddLocked(std::string_view name) const;
  Outcome Create(raft::Index index, const nlohmann::json& header);
  void Insert(Stored stored);

  mutable std::mutex mu_;
  std::map<std::string, Stored, std::less<>> by_id_;
  std::unordered_map<std::string, std::string> id_by_hash_;
};

}  // namespace cluster
