#include "worker/api/cluster_routes.h"

#include <tuple>

#include <nlohmann/json.hpp>

#include "worker/api/service_routes.h"
#include "worker/cluster/member.h"

namespace api {
namespace {

using json = nlohmann::json;

http::Response NotClustered(const http::Request& request) {
  return http::Response::Error(request, 503, "not_clustered", "this worker is not a cluster member",
                               "start it with --peer (and --data-dir, --cluster-secret) to join a cluster");
}

// Where a client should retry: the leader's name and API address (null when unknown).
json LeaderFields(const cluster::ClusterMember& m) {
  const json status = m.RaftStatus();
  return {{"leader_id", status["leader_id"]}, {"leader_address", status["leader_address"]}};
}

// A failed replication: 503 with the leader to retry at, or 504 when the outcome is unknown.
http::Response NotCommitted(const http::Request& request, const raft::Error& e, const cluster::ClusterMember& m) {
  const int code = e.code == raft::ErrorCode::kTimeout ? 504 : 503;
  return http::Response::Error(request, code, raft::ErrorCodeName(e.code), "not committed", e.detail, LeaderFields(m));
}

http::Response NotLeader(const http::Request& request, const cluster::ClusterMember& m) {
  return http::Response::Error(request, 409, "not_leader", "this member is not the leader", "send it to the leader",
                               LeaderFields(m));
}

http::Response RefusedChange(const http::Request& request, const raft::Error& e, const cluster::ClusterMember& m) {
  if (e.code == raft::ErrorCode::kNotLeader) return NotLeader(request, m);
  if (e.code == raft::ErrorCode::kInvalidConfChange || e.code == raft::ErrorCode::kTransferInvalid ||
      e.code == raft::ErrorCode::kLearnerNotCaughtUp) {
    return http::Response::Error(request, 400, raft::ErrorCodeName(e.code), "change refused", e.detail);
  }
  return NotCommitted(request, e, m);
}

http::Response TransferLeadership(http::Request& request, cluster::ClusterMember& m) {
  const json body = request.body.empty() ? json::object() : json::parse(request.body, nullptr, false);
  if (!body.is_object() || (body.contains("target") && !body["target"].is_string())) {
    return http::Response::Error(request, 400, "invalid_parameter", "invalid body",
                                 "send {} or {\"target\": \"<member name>\"}");
  }
  if (m.node().Status().role != raft::Role::kLeader) return NotLeader(request, m);
  auto leader = m.HandOver(body.value("target", ""), std::chrono::seconds(3));
  if (!leader) return RefusedChange(request, leader.error(), m);
  return http::Response::Json(200, json{{"leader_id", *leader}});
}

http::Response ChangeMembers(http::Request& request, cluster::ClusterMember& m) {
  using Action = cluster::ClusterMember::MemberAction;
  const json body = json::parse(request.body, nullptr, false);
  const std::string action = body.is_object() ? body.value("action", "") : "";
  const std::string name = body.is_object() && body.contains("name") && body["name"].is_string() ? body["name"].get<std::string>() : "";
  if ((action != "add" && action != "promote" && action != "remove") || name.empty()) {
    return http::Response::Error(request, 400, "invalid_parameter", "invalid body",
                                 "send {\"action\": \"promote\"|\"remove\", \"name\"} or "
                                 "{\"action\": \"add\", \"id\", \"name\", \"peer\", \"http\"}");
  }
  if (m.node().Status().role != raft::Role::kLeader) return NotLeader(request, m);
  raft::NodeId id = raft::kNone;
  cluster::MemberInfo info;
  if (action == "add") {
    auto newcomer = cluster::NewcomerFromJson(body);
    if (!newcomer) {
      return http::Response::Error(request, 400, "invalid_parameter", "invalid body",
                                   "add needs the newcomer's \"id\" (> 0), \"peer\" and \"http\" addresses");
    }
    std::tie(id, info) = std::move(*newcomer);
  } else {
    id = m.IdOf(name);
    if (id == raft::kNone) return http::Response::Error(request, 404, "no_such_member", "no such member", name);
  }
  const Action a = action == "add" ? Action::kAdd : action == "promote" ? Action::kPromote : Action::kRemove;
  auto index = m.ChangeMember(a, id, info);
  if (!index) return RefusedChange(request, index.error(), m);
  return http::Response::Json(200, json{{"applied_at", *index}, {"raft", m.RaftStatus()}});
}

json ConfigBody(const cluster::ClusterMember& m) {
  return {{"config", m.state().config()}, {"version", m.state().config_version()}};
}

}  // namespace

void AddClusterRoutes(Endpoints& endpoints, cluster::ClusterMember* member, std::string admin_key) {
  endpoints.Add("GET", "/raft/status", [member](http::Request& request) {
    if (!member) return NotClustered(request);
    return http::Response::Json(200, member->RaftStatus());
  }, {.name = "raft_status", .quiet = true});

  endpoints.Add("GET", "/cluster/status", [member](http::Request& request) {
    if (!member) return NotClustered(request);
    return http::Response::Json(200, member->ClusterStatus());
  }, {.name = "cluster_status", .compute = true});

  endpoints.Add("GET", "/api/v1/config", [member](http::Request& request) {
    if (!member) return NotClustered(request);
    const auto consistent = request.Query("consistent");
    if (consistent && *consistent != "false") {
      if (auto r = member->node().ReadIndex().get(); !r) return NotCommitted(request, r.error(), *member);
    }
    return http::Response::Json(200, ConfigBody(*member));
  }, {.name = "config_get", .compute = true});

  endpoints.Add("PUT", "/api/v1/config", RequireAdmin(admin_key, [member](http::Request& request) {
    if (!member) return NotClustered(request);
    const json patch = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
    auto next = cluster::ValidateConfig(member->state().config(), patch);
    if (!next) return http::Response::Error(request, 400, "invalid_config", "invalid configuration", next.error());
    auto applied = member->node().Propose(cluster::EncodeConfigPatch(patch)).get();
    if (!applied) return NotCommitted(request, applied.error(), *member);
    return http::Response::Json(200, ConfigBody(*member));
  }), {.name = "config_put", .compute = true, .max_body_bytes = 64 << 10});

  endpoints.Add("POST", "/admin/transfer-leadership", RequireAdmin(admin_key, [member](http::Request& request) {
    if (!member) return NotClustered(request);
    return TransferLeadership(request, *member);
  }), {.name = "admin_transfer", .compute = true, .max_body_bytes = 4 << 10});

  endpoints.Add("POST", "/admin/members", RequireAdmin(admin_key, [member](http::Request& request) {
    if (!member) return NotClustered(request);
    return ChangeMembers(request, *member);
  }), {.name = "admin_members", .compute = true, .max_body_bytes = 4 << 10});
}

}  // namespace api
