// ClusterState: the state every member replicates through the Raft log — who the members are
// (name and addresses, from the membership entries) and the sections of replicated data: the
// configuration, the cover library, the API keys and the job ledger. It is the
// raft::StateMachine of the worker; the Raft log and its snapshots in RocksDB are its durable
// form, so a restarted member rebuilds it from disk.
//
// Each committed command (command.h) goes to the section that owns its "op". What the section
// answered is kept by log index for a while, so that the member that proposed it can tell its
// client whether the write took effect (OutcomeAt), even though the write was accepted into the log.
//
// Thread safety: the node's thread applies; HTTP threads read through the accessors.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/expected.h"
#include "worker/cluster/config_store.h"
#include "worker/cluster/cover_library.h"
#include "worker/cluster/job_ledger.h"
#include "worker/cluster/key_store.h"
#include "worker/cluster/state_section.h"
#include "worker/raft/node/node.h"

namespace cluster {

// What a member tells the others about itself; travels as the context of its membership change.
struct MemberInfo {
  std::string name;  // --node-id (the pod name in Kubernetes)
  std::string peer;  // host:port of its Raft peer port
  std::string http;  // host:port of its API
  bool operator==(const MemberInfo&) const = default;
};
nlohmann::json MemberInfoJson(const MemberInfo& info);  // {name, peer, http}
std::optional<MemberInfo> MemberInfoFromJson(const nlohmann::json& j);
std::string EncodeMemberInfo(const MemberInfo& info);  // as a membership change's context
std::optional<MemberInfo> DecodeMemberInfo(std::string_view text);
// A newcomer as it introduces itself (join request, admin add): {id > 0, name, peer, http}.
std::optional<std::pair<raft::NodeId, MemberInfo>> NewcomerFromJson(const nlohmann::json& j);

class ClusterState final : public raft::StateMachine {
 public:
  // Called on the node's thread whenever the member list changes (join, leave, snapshot).
  using MembersListener = std::function<void(const std::map<raft::NodeId, MemberInfo>&)>;
  explicit ClusterState(MembersListener on_members);

  void Apply(raft::Index index, std::string_view payload) override;
  void ApplyConf(raft::Index index, const raft::ConfEntry& entry) override;
  std::string Snapshot() override;
  void Restore(raft::Index index, std::string_view data) override;

  std::map<raft::NodeId, MemberInfo> members() const;
  const ConfigStore& config() const { return config_; }
  const JobLedger& jobs() const { return jobs_; }
  const CoverLibrary& covers() const { return covers_; }
  const KeyStore& keys() const { return keys_; }

  // What applying the command at `index` answered: empty when it took effect, else why it was
  // skipped. Kept for the last kOutcomesKept commands, which covers every proposal still awaited.
  std::string OutcomeAt(raft::Index index) const;
  static constexpr std::size_t kOutcomesKept = 4096;

 private:
  void NotifyMembers();
  void RecordOutcome(raft::Index index, std::string outcome);

  MembersListener on_members_;
  mutable std::mutex mu_;  // members_ and outcomes_; each section has its own
  std::map<raft::NodeId, MemberInfo> members_;
  std::deque<std::pair<raft::Index, std::string>> outcomes_;  // skipped commands only, oldest first

  ConfigStore config_;
  // Sections that read the configuration when they apply (limits, retention) come after it.
  JobLedger jobs_{config_};
  CoverLibrary covers_{config_};
  KeyStore keys_;
  const std::vector<StateSection*> sections_{&config_, &jobs_, &covers_, &keys_};
};

}  // namespace cluster
