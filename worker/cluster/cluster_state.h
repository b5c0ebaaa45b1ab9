// ClusterState: the state every member replicates through the Raft log — who the members are
// (name and addresses, from the membership entries) and the sections of replicated data: the
// configuration, the cover library, the API keys and the job ledger. It is the
// raft::StateMachine of the worker; the Raft log and its snapshots in RocksDB are its durable
// form, so a restarted member rebuilds it from disk.
//
// Each committed command (command.h) goes to the section that owns its "op". What the section
// answered (an Outcome: applied, or why it was skipped) goes back through the Raft node to the
// proposal's future on the member that proposed it, which tells its client whether the write took
// effect even though it was accepted into the log. A command whose request key (command.h) was
// applied before is not applied again: it answers the first one's outcome (request_log.h).
//
// Thread safety: the node's thread applies; HTTP threads read through the accessors.
#pragma once

#include <functional>
#include <map>
#include <mutex>
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
#include "worker/cluster/request_log.h"
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

  // Answers ApplyCommand's Outcome (std::any_cast<Outcome> reads it).
  raft::ApplyResponse Apply(raft::Index index, std::string_view payload) override;
  void ApplyConf(raft::Index index, const raft::ConfEntry& entry) override;
  std::string Snapshot() override;
  // kCorruptState when the snapshot cannot be read; the state is then unspecified and the member
  // must stop (raft::Node does).
  raft::Result<void> Restore(raft::Index index, std::string_view data) override;

  // Apply, typed: what the proposer of the command at `index` hears.
  Outcome ApplyCommand(raft::Index index, std::string_view payload);

  std::map<raft::NodeId, MemberInfo> members() const;
  const ConfigStore& config() const { return config_; }
  const JobLedger& jobs() const { return jobs_; }
  const CoverLibrary& covers() const { return covers_; }
  const KeyStore& keys() const { return keys_; }
  const RequestLog& requests() const { return requests_; }

 private:
  void NotifyMembers();

  MembersListener on_members_;
  mutable std::mutex mu_;  // members_; each section has its own
  std::map<raft::NodeId, MemberInfo> members_;

  ConfigStore config_;
  // Sections that read the configuration when they apply (limits, retention) come after it.
  JobLedger jobs_{config_};
  CoverLibrary covers_{config_};
  KeyStore keys_;
  RequestLog requests_;
  const std::vector<StateSection*> sections_{&config_, &jobs_, &covers_, &keys_, &requests_};
};

}  // namespace cluster
