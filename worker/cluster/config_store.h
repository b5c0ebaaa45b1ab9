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

// The configuration, typed: what the sections and the API read (one field per key of
// config_store.cc's tables).
struct ClusterConfig {
  int default_lsb_bits = 1;             // embed/capacity depth when a request names none
  std::uint64_t max_pixels = 0;         // largest image; --max-pixels caps it per member
  std::uint64_t max_cover_bytes = 0;    // the cover library's limits (cover_library.h)
  std::uint64_t max_covers = 0;
  std::uint64_t max_library_bytes = 0;
  std::uint64_t job_retention = 0;      // job records the ledger keeps (job_ledger.h)
  std::vector<std::string> cors_origins;  // pages that may call the API (http/cors.h)
};

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
  Outcome Apply(raft::Index index, const Command& command) override;
  std::string Snapshot() const override;
  void Restore(std::string_view data) override;

  nlohmann::json config() const;  // as GET /api/v1/config shows it
  ClusterConfig view() const;     // the same, typed
  raft::Index version() const;    // log index of the last write (0: defaults)

 private:
  void Set(nlohmann::json config, raft::Index version);  // mu_ held

  mutable std::mutex mu_;
  nlohmann::json config_;
  ClusterConfig view_;  // config_, typed
  raft::Index version_ = 0;
};

}  // namespace cluster
