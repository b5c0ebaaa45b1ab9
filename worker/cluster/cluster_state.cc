#include "worker/cluster/cluster_state.h"

#include <spdlog/spdlog.h>

#include "worker/raft/wire.h"

namespace cluster {

using json = nlohmann::json;

json MemberInfoJson(const MemberInfo& info) {
  return {{"name", info.name}, {"peer", info.peer}, {"http", info.http}};
}

std::optional<MemberInfo> MemberInfoFromJson(const json& j) {
  if (!j.is_object()) return std::nullopt;
  for (const char* k : {"name", "peer", "http"}) {
    if (!j.contains(k) || !j[k].is_string()) return std::nullopt;
  }
  return MemberInfo{j["name"], j["peer"], j["http"]};
}

std::string EncodeMemberInfo(const MemberInfo& info) { return MemberInfoJson(info).dump(); }

std::optional<MemberInfo> DecodeMemberInfo(std::string_view text) {
  return MemberInfoFromJson(json::parse(text, nullptr, /*allow_exceptions=*/false));
}

std::optional<std::pair<raft::NodeId, MemberInfo>> NewcomerFromJson(const json& j) {
  auto info = MemberInfoFromJson(j);
  if (!info || info->name.empty() || !j.contains("id") || !j["id"].is_number_unsigned() || j["id"] == 0) {
    return std::nullopt;
  }
  return std::make_pair(j["id"].get<raft::NodeId>(), std::move(*info));
}

ClusterState::ClusterState(MembersListener on_members) : on_members_(std::move(on_members)) {}

raft::ApplyResponse ClusterState::Apply(raft::Index index, std::string_view payload) {
  return ApplyCommand(index, payload);
}

Outcome ClusterState::ApplyCommand(raft::Index index, std::string_view payload) {
  const auto command = DecodeCommand(payload);
  StateSection* owner = nullptr;
  if (command) {
    for (StateSection* s : sections_) {
      if (s->Owns(command->op())) owner = s;
    }
  }
  if (!owner) {
    // Every member skips it alike: a newer member's command this version does not know.
    spdlog::warn("cluster: entry {} is not a command this version knows; skipped", index);
    return Refuse("not a command this member's version knows");
  }
  const auto request = RequestKeyOf(*command);
  if (request) {
    if (auto seen = requests_.Seen(*request)) return *seen;  // a retry: applied (or refused) once already
  }
  Outcome outcome = owner->Apply(index, *command);
  // A lowered job_retention drops the oldest records now, at this index on every member.
  if (owner == &config_ && outcome) jobs_.ApplyRetention();
  if (!outcome) spdlog::info("cluster: {} at {} skipped: {}", command->op(), index, outcome.error().message);
  if (request) requests_.Record(*request, outcome, index);
  return outcome;
}

void ClusterState::ApplyConf(raft::Index, const raft::ConfEntry& entry) {
  {
    std::lock_guard lk(mu_);
    const raft::ConfChange& cc = entry.change;
    if (cc.type == raft::ConfChange::Type::kRemove) {
      members_.erase(cc.node);
    } else if (auto info = DecodeMemberInfo(cc.context)) {
      members_[cc.node] = *info;
    }
    // Forget anyone the resulting configuration no longer holds.
    std::erase_if(members_, [&](const auto& m) { return !entry.next.contains(m.first); });
  }
  NotifyMembers();
}

// Snapshot layout (raft/wire.h fields): the members as JSON, then a u32 count of sections, each
// as its name and its data.
std::string ClusterState::Snapshot() {
  std::string out;
  {
    std::lock_guard lk(mu_);
    json members = json::array();
    for (const auto& [id, m] : members_) members.push_back({{"id", id}, {"info", MemberInfoJson(m)}});
    raft::wire::PutBytes(out, members.dump());
  }
  raft::wire::PutFixed(out, sections_.size(), 4);
  for (const StateSection* s : sections_) {
    raft::wire::PutBytes(out, s->name());
    raft::wire::PutBytes(out, s->Snapshot());
  }
  return out;
}

raft::Result<void> ClusterState::Restore(raft::Index index, std::string_view data) {
  auto damaged = [&](const std::string& what) {
    return raft::Fail(raft::ErrorCode::kCorruptState,
                      "the cluster state's snapshot at " + std::to_string(index) + " is damaged: " + what);
  };
  raft::wire::Reader in(data);
  const json members = json::parse(in.Bytes(), nullptr, /*allow_exceptions=*/false);
  std::map<std::string_view, std::string_view> parts;
  for (auto n = in.Fixed(4); n > 0 && in.ok(); --n) {
    const auto name = in.Bytes();
    parts[name] = in.Bytes();
  }
  if (!in.done() || !members.is_array()) return damaged("its framing is cut or malformed");
  std::map<raft::NodeId, MemberInfo> restored;
  for (const auto& m : members) {
    auto info = m.is_object() ? MemberInfoFromJson(m.value("info", json())) : std::nullopt;
    if (!info || !m.contains("id") || !m["id"].is_number_unsigned()) return damaged("a member is malformed");
    restored[m["id"].get<raft::NodeId>()] = *info;
  }
  {
    std::lock_guard lk(mu_);
    members_ = std::move(restored);
  }
  for (StateSection* s : sections_) {
    auto it = parts.find(s->name());
    try {
      s->Restore(it == parts.end() ? std::string_view{} : it->second);
    } catch (const json::exception& e) {  // the sections read their JSON with the throwing accessors
      return damaged("section " + std::string(s->name()) + ": " + e.what());
    }
  }
  NotifyMembers();
  return {};
}

void ClusterState::NotifyMembers() {
  if (on_members_) on_members_(members());
}

std::map<raft::NodeId, MemberInfo> ClusterState::members() const {
  std::lock_guard lk(mu_);
  return members_;
}

}  // namespace cluster
