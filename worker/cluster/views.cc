// ClusterMember's JSON views: /raft/status, the prototype's /cluster/status, /api/v1/cluster and
// the member list the peer port's join and describe routes answer.
#include <algorithm>
#include <future>

#include "worker/cluster/member.h"
#include "worker/cluster/peer_call.h"

namespace cluster {

using json = nlohmann::json;

json ClusterMember::MembersJson() const {
  const raft::NodeStatus st = Status();
  json out = json::array();
  for (const auto& [id, info] : state_.members()) {
    out.push_back({{"raft_id", id}, {"name", info.name}, {"peer", info.peer}, {"http", info.http},
                   {"role", st.conf.is_voter(id) ? "voter" : "learner"}});
  }
  return out;
}

json ClusterMember::RaftStatus() const { return StatusJson(Status()); }

json ClusterMember::StatusJson(const raft::NodeStatus& st) const {
  const auto members = state_.members();
  auto name_of = [&](raft::NodeId id) -> json {
    auto it = members.find(id);
    return it == members.end() ? json(nullptr) : json(it->second.name);
  };
  auto names = [&](const std::vector<raft::NodeId>& ids) {
    json out = json::array();
    for (raft::NodeId id : ids) out.push_back(name_of(id));
    return out;
  };
  const auto leader = members.find(st.leader);
  return {{"id", options_.name},
          {"raft_id", id_},
          {"role", raft::RoleName(st.role)},
          {"term", st.term},
          {"leader_id", name_of(st.leader)},
          {"leader_raft_id", st.leader},
          {"leader_address", leader == members.end() ? json(nullptr) : json(leader->second.http)},
          {"commit", st.commit},
          {"applied", st.applied},
          {"voters", names(st.conf.voters)},
          {"learners", names(st.conf.learners)}};
}

std::map<raft::NodeId, PeerReply> ClusterMember::AskEveryone(const std::map<raft::NodeId, MemberInfo>& members,
                                                             const std::string& path) const {
  std::map<raft::NodeId, std::future<PeerReply>> pending;
  for (const auto& [id, info] : members) {
    if (id == id_) continue;
    pending.emplace(id, std::async(std::launch::async, [this, peer = info.peer, &path] {
      return CallPeer(peer, "GET", path, peer_auth(), nullptr, std::chrono::milliseconds(300));
    }));
  }
  std::map<raft::NodeId, PeerReply> replies;
  for (auto& [id, reply] : pending) replies.emplace(id, reply.get());
  return replies;
}

json ClusterMember::Reported(raft::NodeId id, const std::map<raft::NodeId, PeerReply>& replies,
                             const std::function<json()>& own) const {
  if (id == id_) return own ? own() : json{{"healthy", true}};
  const PeerReply& r = replies.at(id);
  return r.status == 200 && r.body.is_object() ? r.body : json(nullptr);
}

json ClusterMember::ClusterStatus() const {
  const raft::NodeStatus st = Status();
  const auto members = state_.members();
  auto replies = AskEveryone(members, "/raft/v1/load");
  auto split = [](const std::string& address) {
    const auto colon = address.rfind(':');
    return std::make_pair(address.substr(0, colon), std::stoi(address.substr(colon + 1)));
  };
  json nodes = json::array();
  std::uint64_t most_applied = 0;
  for (const auto& [id, info] : members) {
    const json load = Reported(id, replies, options_.load_report);
    const bool healthy = load.is_object() && load.value("healthy", false);
    const auto [ip, http_port] = split(info.http);
    // The prototype's serde enum names; its GUI compares role === 'Leader'.
    json node = {{"id", info.name},
                 {"ip", ip},
                 {"http_port", http_port},
                 {"raft_port", split(info.peer).second},
                 {"role", id == st.leader ? "Leader" : st.conf.is_learner(id) ? "Learner" : "Follower"},
                 {"healthy", healthy}};
    // Always numbers, as the prototype sent them (its GUI calls toFixed on each): 0 for a member
    // that did not answer, which `healthy` false tells apart.
    for (const char* k : {"cpu_pct", "mem_pct", "qps_1m", "p95_ms"}) {
      node[k] = load.is_object() && load.contains(k) && load[k].is_number() ? load[k] : json(0.0);
    }
    node["applied"] = load.is_object() && load.contains("applied") && load["applied"].is_number_unsigned()
                          ? load["applied"]
                          : json(nullptr);
    if (node["applied"].is_number()) most_applied = std::max(most_applied, node["applied"].get<std::uint64_t>());
    nodes.push_back(std::move(node));
  }
  // Lag against the most advanced member that answered: what this member alone can tell (only
  // the leader knows the others' match indexes, and only while it leads).
  for (json& node : nodes) {
    node["lag"] = node["applied"].is_number() ? json(most_applied - node["applied"].get<std::uint64_t>()) : json(nullptr);
  }
  const auto leader = members.find(st.leader);
  return {{"term", st.term},
          {"leader_id", leader == members.end() ? json(nullptr) : json(leader->second.name)},
          {"nodes", std::move(nodes)}};
}

json ClusterMember::ClusterHistory() const {
  const auto members = state_.members();
  const auto replies = AskEveryone(members, "/raft/v1/load/history");
  json nodes = json::array();
  for (const auto& [id, info] : members) {
    const json history = Reported(id, replies, options_.load_history);
    const bool answered = history.is_object() && history.contains("samples") && history["samples"].is_array();
    nodes.push_back({{"id", info.name},
                     {"healthy", answered && history.value("healthy", false)},
                     {"samples", answered ? history["samples"] : json::array()}});
  }
  return {{"interval_ms", 1000}, {"nodes", std::move(nodes)}};
}

json ClusterMember::ClusterView() const {
  const raft::NodeStatus st = Status();
  const auto members = state_.members();
  const auto replies = AskEveryone(members, "/raft/v1/cluster");
  std::map<raft::NodeId, const raft::NodeStatus::Peer*> progress;
  for (const auto& p : st.peers) progress.emplace(p.id, &p);
  const bool leading = st.role == raft::Role::kLeader;
  json list = json::array();
  for (const auto& [id, info] : members) {
    json own = nullptr;  // what the member reports of itself
    if (id == id_) {
      own = {{"role", raft::RoleName(st.role)}, {"term", st.term}, {"commit", st.commit}, {"applied", st.applied}};
    } else if (const PeerReply& r = replies.at(id); r.status == 200 && r.body.is_object()) {
      own = r.body;
    }
    json m = {{"id", info.name}, {"raft_id", id}, {"peer", info.peer}, {"http", info.http},
              {"suffrage", st.conf.is_learner(id) ? "learner" : "voter"}, {"leader", id == st.leader},
              {"reachable", own.is_object()}, {"match", nullptr}, {"lag", nullptr}, {"last_contact_ms", nullptr}};
    for (const char* k : {"role", "term", "commit", "applied"}) m[k] = own.is_object() ? own.value(k, json()) : json();
    if (leading && id == id_) {
      m.update({{"match", st.last_index}, {"lag", 0}, {"last_contact_ms", 0}});
    } else if (const auto p = progress.find(id); leading && p != progress.end()) {
      const raft::Index match = p->second->match;
      m.update({{"match", match}, {"lag", st.last_index > match ? st.last_index - match : 0},
                {"last_contact_ms", p->second->last_contact.count()}});
    }
    list.push_back(std::move(m));
  }
  json view = StatusJson(st);
  view["last_index"] = st.last_index;
  view["members"] = std::move(list);
  return view;
}

}  // namespace cluster
