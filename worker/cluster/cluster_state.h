// ClusterState: the state every member replicates through the Raft log — who the members are
// (name and addresses, from the membership entries) and the cluster configuration (stego
// defaults and limits). It is the raft::StateMachine of the worker; the Raft log and its
// snapshots in RocksDB are its durable form, so a restarted member rebuilds it from disk.
//
// Commands are JSON documents (EncodeConfigPatch). A patch is checked by the proposer for a clear
// error, and again when applied, against the configuration current at its log index: ValidateConfig
// is pure, so every member takes the same decision, and concurrent patches never lose each other's
// keys (a whole-document write would).
//
// Thread safety: the node's thread applies; HTTP threads read through the accessors.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "common/expected.h"
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

// The cluster configuration: known keys only, each with its type and range. The defaults apply
// until an administrator sets a value.
nlohmann::json DefaultConfig();
// The complete configuration that `patch` (an object of known keys) produces from `current`, or
// what is wrong with it.
common::Expected<nlohmann::json, std::string> ValidateConfig(const nlohmann::json& current,
                                                             const nlohmann::json& patch);
// The command that applies `patch` (validated against the configuration current at its index).
std::string EncodeConfigPatch(const nlohmann::json& patch);

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
  nlohmann::json config() const;
  raft::Index config_version() const;  // log index of the last configuration write (0: defaults)

 private:
  void NotifyMembers();

  MembersListener on_members_;
  mutable std::mutex mu_;
  std::map<raft::NodeId, MemberInfo> members_;
  nlohmann::json config_;
  raft::Index config_version_ = 0;
};

}  // namespace cluster
