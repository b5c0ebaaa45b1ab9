// ClusterMember's routes on the peer port besides the Raft transport's: join, describe, load
// (member.h lists them). Every one requires the cluster secret.
#include <spdlog/spdlog.h>

#include "worker/cluster/member.h"

namespace cluster {
namespace {

using json = nlohmann::json;

http::Response Unavailable(const http::Request& request, std::string_view code, const std::string& detail) {
  return http::Response::Error(request, 503, code, "membership change not possible now", detail);
}

http::Response Unavailable(const http::Request& request, const Error& error) {
  return Unavailable(request, ErrorCodeName(error.code), error.message);
}

}  // namespace

void ClusterMember::AddPeerRoutes() {
  inbox_ = std::make_unique<raft::transport::PeerInbox>(
      raft::transport::PeerInboxOptions{.self = id_, .secret = options_.secret,
                                        .deliver = [this](std::vector<raft::Message> m) {
                                          auto* n = live_node_.load();
                                          if (n && !outbound_.paused.load()) n->Receive(std::move(m));
                                        }},
      metrics_);
  inbox_->AddRoutes(peer_router_);
  peer_router_.Add("POST", "/raft/v1/join", [this](http::Request& r) { return Join(r); },
                   {.name = "raft_join", .compute = true, .max_body_bytes = 64 << 10});
  peer_router_.Add("GET", "/raft/v1/cluster", [this](http::Request& r) { return Describe(r); },
                   {.name = "raft_cluster", .quiet = true});
  auto serve_report = [this](const std::string& path, const std::string& name, std::function<json()> report) {
    peer_router_.Add("GET", path, [this, report = std::move(report)](http::Request& r) {
      if (auto refusal = raft::transport::RequireClusterSecret(r, options_.secret)) return std::move(*refusal);
      return http::Response::Json(200, report ? report() : json{{"healthy", true}});
    }, {.name = name, .quiet = true});
  };
  serve_report("/raft/v1/load", "raft_load", options_.load_report);
  serve_report("/raft/v1/load/history", "raft_load_history", options_.load_history);
  if (options_.add_peer_routes) options_.add_peer_routes(peer_router_);
}

http::Response ClusterMember::Join(http::Request& request) {
  if (auto refusal = raft::transport::RequireClusterSecret(request, options_.secret)) return std::move(*refusal);
  const auto newcomer = NewcomerFromJson(json::parse(request.body, nullptr, /*allow_exceptions=*/false));
  if (!newcomer) {
    return http::Response::Error(request, 400, "bad_join", "malformed join request",
                                 "want {\"id\": >0, \"name\", \"peer\", \"http\"}");
  }
  // The peer port opens before the node starts (a bootstrapping member first asks the others).
  if (!live_node_.load()) return Unavailable(request, "starting", "this member is still starting; retry");
  const auto& [joiner, info] = *newcomer;
  const raft::NodeStatus st = Status();
  if (st.role != raft::Role::kLeader) {
    const auto members = state_.members();
    const auto leader = members.find(st.leader);
    if (leader == members.end()) return Unavailable(request, "no_leader", "no leader known; retry");
    return http::Response::Error(request, 421, "not_leader", "not the leader", "join through the leader",
                                 json{{"leader_peer", leader->second.peer}});
  }
  // A member that comes back with a wiped directory has a new id: retire the old one first.
  for (const auto& [id, m] : state_.members()) {
    if (m.name != info.name || id == joiner) continue;
    auto removed = ChangeMember(MemberAction::kRemove, id, {});
    if (!removed) return Unavailable(request, removed.error());
    spdlog::info("cluster: removed stale member {} (raft id {}) before it rejoins", m.name, id);
  }
  if (!st.conf.contains(joiner)) {
    auto added = ChangeMember(MemberAction::kAdd, joiner, info);
    if (!added) return Unavailable(request, added.error());
    spdlog::info("cluster: added {} (raft id {}) as a learner", info.name, joiner);
  }
  return http::Response::Json(200, json{{"members", MembersJson()}});
}

http::Response ClusterMember::Describe(http::Request& request) {
  if (auto refusal = raft::transport::RequireClusterSecret(request, options_.secret)) return std::move(*refusal);
  if (!live_node_.load()) return Unavailable(request, "starting", "this member is still starting; retry");
  const raft::NodeStatus st = Status();
  return http::Response::Json(200, json{{"leader", st.leader}, {"members", MembersJson()}, {"raft_id", id_},
                                        {"role", raft::RoleName(st.role)}, {"term", st.term},
                                        {"commit", st.commit}, {"applied", st.applied}});
}

}  // namespace cluster
