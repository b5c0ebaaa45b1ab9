#include "worker/api/cluster_routes.h"

#include <tuple>

#include <nlohmann/json.hpp>

#include "worker/api/replicated.h"
#include "worker/cluster/member.h"

namespace api {
namespace {

using json = nlohmann::json;

http::Response TransferLeadership(http::Request& request, cluster::ClusterMember& m) {
  const json body = request.body.empty() ? json::object() : json::parse(request.body, nullptr, false);
  if (!body.is_object() || (body.contains("target") && !body["target"].is_string())) {
    return http::Response::Error(request, 400, "invalid_parameter", "invalid body",
                                 "send {} or {\"target\": \"<member name>\"}");
  }
  if (!m.IsLeader()) return NotLeader(request, m.Leader());
  auto leader = m.HandOver(body.value("target", ""), std::chrono::seconds(3));
  if (!leader) return ClusterError(request, leader.error(), m);
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
  if (!m.IsLeader()) return NotLeader(request, m.Leader());
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
  if (!index) return ClusterError(request, index.error(), m);
  return http::Response::Json(200, json{{"applied_at", *index}, {"raft", m.RaftStatus()}});
}

json ConfigBody(const cluster::ClusterMember& m) {
  return {{"config", m.state().config().config()}, {"version", m.state().config().version()}};
}

http::Response RaftStatus(http::Request&, cluster::ClusterMember& m) {
  return http::Response::Json(200, m.RaftStatus());
}

http::Response ClusterStatus(http::Request&, cluster::ClusterMember& m) {
  return http::Response::Json(200, m.ClusterStatus());
}

http::Response ClusterHistory(http::Request&, cluster::ClusterMember& m) {
  return http::Response::Json(200, m.ClusterHistory());
}

http::Response ClusterView(http::Request&, cluster::ClusterMember& m) {
  return http::Response::Json(200, m.ClusterView());
}

http::Response GetConfig(http::Request& request, cluster::ClusterMember& m) {
  if (auto refused = ConfirmFreshIfAsked(request, m)) return std::move(*refused);
  return http::Response::Json(200, ConfigBody(m));
}

http::Response PutConfig(http::Request& request, cluster::ClusterMember& m) {
  const json patch = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  auto next = cluster::ValidateConfig(m.state().config().config(), patch);
  if (!next) return http::Response::Error(request, 400, "invalid_config", "invalid configuration", next.error());
  if (auto committed = Commit(request, m, cluster::EncodeConfigPatch(patch)); !committed) {
    return std::move(committed.error());
  }
  return http::Response::Json(200, ConfigBody(m));
}

}  // namespace

void AddClusterRoutes(Endpoints& endpoints, cluster::ClusterMember* member) {
  endpoints.Add("GET", "/raft/status", Access::kPublic, OnMember(member, RaftStatus),
                {.name = "raft_status", .quiet = true});
  endpoints.Add("GET", "/cluster/status", Access::kPublic, OnMember(member, ClusterStatus),
                {.name = "cluster_status", .compute = true});
  endpoints.Add("GET", "/cluster/history", Access::kPublic, OnMember(member, ClusterHistory),
                {.name = "cluster_history", .compute = true});
  endpoints.Add("GET", "/api/v1/cluster", Access::kUser, OnMember(member, ClusterView),
                {.name = "cluster_view", .compute = true});
  endpoints.Add("GET", "/api/v1/config", Access::kUser, OnMember(member, GetConfig),
                {.name = "config_get", .compute = true});
  endpoints.Add("PUT", "/api/v1/config", Access::kAdmin, OnMember(member, PutConfig),
                {.name = "config_put", .compute = true, .max_body_bytes = 64 << 10});
  endpoints.Add("POST", "/admin/transfer-leadership", Access::kAdmin, OnMember(member, TransferLeadership),
                {.name = "admin_transfer", .compute = true, .max_body_bytes = 4 << 10});
  endpoints.Add("POST", "/admin/members", Access::kAdmin, OnMember(member, ChangeMembers),
                {.name = "admin_members", .compute = true, .max_body_bytes = 4 << 10});
}

}  // namespace api
