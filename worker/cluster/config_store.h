// ConfigStore: the replicated cluster configuration — stego defaults and limits an administrator
// may change at run time (GET/PUT /api/v1/config). Known keys only: integers with a range, and
// lists of strings each item of which is checked (cors_origins); the defaults apply until a value
// is set.
//
// A write is a patch of keys, checked by the proposer for a clear error and again when applied,
// against the configuration current at its log index: ValidateConfig is pure, so every member
// takes the same decision, and concurrent patches never lose each other's keys (a whole-document
// write would).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/expected.h"
#include "worker/cluster/state_section.h"

namespace cluster {

nlohmann::json DefaultConfig();
// The complete configuration that `patch` (an object of known keys) produces from `current`, or
// what is wrong with it.
common::Expected<nlohmann::json, std::string> ValidateConfig(const nlohmann::json& current,
                                                             const nlohmann::json& patch);
// The command that applies `patch`.
std::string EncodeConfigPatch(const nlohmann::json& patch);

class ConfigStore final : public StateSection {
 public:
  ConfigStore();

  std::string_view name() const override { return "config"; }
  bool Owns(std::string_view op) const override { return op == "patch_config"; }
  std::string Apply(raft::Index index, const Command& command) override;
  std::string Snapshot() const override;
  void Restore(std::string_view data) override;

  nlohmann::json config() const;
  // One key's current value (a known key; see kConfigKeys in config_store.cc).
  std::int64_t Get(const std::string& key) const;
  // One list key's current items (kListKeys in config_store.cc).
  std::vector<std::string> GetList(const std::string& key) const;
  raft::Index version() const;  // log index of the last write (0: defaults)

 private:
  mutable std::mutex mu_;
  nlohmann::json config_;
  raft::Index version_ = 0;
};

}  // namespace cluster
