#include "worker/api/cluster_routes.h"

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

// A failed replication: 503 with the leader to retry at, or 504 when the outcome is unknown.
http::Response NotCommitted(const http::Request& request, const raft::Error& e, const cluster::ClusterMember& m) {
  const json status = m.RaftStatus();
  const int code = e.code == raft::ErrorCode::kTimeout ? 504 : 503;
  return http::Response::Error(request, code, raft::ErrorCodeName(e.code), "not committed", e.detail,
                               json{{"leader_id", status["leader_id"]}, {"leader_address", status["leader_address"]}});
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

  endpoints.Add("GET", "/api/v1/config", [member](http::Request& request) {
    if (!member) return NotClustered(request);
    const auto consistent = request.Query("consistent");
    if (consistent && *consistent != "false") {
      if (auto r = member->node().ReadIndex().get(); !r) return NotCommitted(request, r.error(), *member);
    }
    return http::Response::Json(200, ConfigBody(*member));
  }, {.name = "config_get", .compute = true});

  endpoints.Add("PUT", "/api/v1/config", RequireAdmin(std::move(admin_key), [member](http::Request& request) {
    if (!member) return NotClustered(request);
    const json patch = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
    auto next = cluster::ValidateConfig(member->state().config(), patch);
    if (!next) return http::Response::Error(request, 400, "invalid_config", "invalid configuration", next.error());
    auto applied = member->node().Propose(cluster::EncodeConfigPatch(patch)).get();
    if (!applied) return NotCommitted(request, applied.error(), *member);
    return http::Response::Json(200, ConfigBody(*member));
  }), {.name = "config_put", .compute = true, .max_body_bytes = 64 << 10});
}

}  // namespace api
