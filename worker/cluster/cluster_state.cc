#include "worker/cluster/cluster_state.h"

#include <spdlog/spdlog.h>

namespace cluster {
namespace {

using json = nlohmann::json;

struct ConfigKey {
  const char* name;
  std::int64_t min;
  std::int64_t max;
  std::int64_t default_value;
};

// Every key an administrator may set. Integers only, so that every member validates and applies
// them identically.
constexpr ConfigKey kConfigKeys[] = {
    {"default_lsb_bits", 1, 4, 1},                // embed/capacity depth when a request names none
    {"max_pixels", 64, 400'000'000, 40'000'000},  // largest image; --max-pixels caps it per member
};

}  // namespace

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

json DefaultConfig() {
  json c = json::object();
  for (const auto& k : kConfigKeys) c[k.name] = k.default_value;
  return c;
}

common::Expected<json, std::string> ValidateConfig(const json& current, const json& patch) {
  if (!patch.is_object()) return common::Unexpected<std::string>{"the configuration must be a JSON object"};
  json next = current;
  for (const auto& [key, value] : patch.items()) {
    const ConfigKey* known = nullptr;
    for (const auto& k : kConfigKeys) {
      if (key == k.name) known = &k;
    }
    if (!known) return common::Unexpected<std::string>{"unknown configuration key \"" + key + "\""};
    if (!value.is_number_integer() || value.get<std::int64_t>() < known->min ||
        value.get<std::int64_t>() > known->max) {
      return common::Unexpected<std::string>{key + " must be an integer in [" + std::to_string(known->min) +
                                             ", " + std::to_string(known->max) + "]"};
    }
    next[key] = value;
  }
  return next;
}

std::string EncodeConfigPatch(const json& patch) { return json{{"op", "patch_config"}, {"patch", patch}}.dump(); }

ClusterState::ClusterState(MembersListener on_members)
    : on_members_(std::move(on_members)), config_(DefaultConfig()) {}

void ClusterState::Apply(raft::Index index, std::string_view payload) {
  const json cmd = json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (!cmd.is_object() || cmd.value("op", "") != "patch_config" || !cmd.contains("patch")) {
    // Every member skips it alike; a newer member's command an older one does not know.
    spdlog::warn("cluster: entry {} is not a command this version knows; skipped", index);
    return;
  }
  std::lock_guard lk(mu_);
  auto next = ValidateConfig(config_, cmd["patch"]);
  if (!next) {
    spdlog::warn("cluster: configuration patch at {} no longer valid: {}", index, next.error());
    return;
  }
  config_ = std::move(*next);
  config_version_ = index;
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

std::string ClusterState::Snapshot() {
  std::lock_guard lk(mu_);
  json members = json::array();
  for (const auto& [id, m] : members_) {
    members.push_back({{"id", id}, {"info", MemberInfoJson(m)}});
  }
  return json{{"members", members}, {"config", config_}, {"config_version", config_version_}}.dump();
}

void ClusterState::Restore(raft::Index, std::string_view data) {
  const json j = json::parse(data);
  {
    std::lock_guard lk(mu_);
    members_.clear();
    for (const auto& m : j["members"]) {
      if (auto info = MemberInfoFromJson(m["info"])) members_[m["id"].get<raft::NodeId>()] = *info;
    }
    config_ = j["config"];
    config_version_ = j["config_version"];
  }
  NotifyMembers();
}

void ClusterState::NotifyMembers() {
  if (on_members_) on_members_(members());
}

std::map<raft::NodeId, MemberInfo> ClusterState::members() const {
  std::lock_guard lk(mu_);
  return members_;
}

json ClusterState::config() const {
  std::lock_guard lk(mu_);
  return config_;
}

raft::Index ClusterState::config_version() const {
  std::lock_guard lk(mu_);
  return config_version_;
}

}  // namespace cluster
