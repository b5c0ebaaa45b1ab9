#include "worker/api/replicated.h"

#include <chrono>
#include <ctime>

#include "worker/cluster/member.h"

namespace api {

using json = nlohmann::json;

http::Response NotClustered(const http::Request& request) {
  return http::Response::Error(request, 503, "not_clustered", "this worker is not a cluster member",
                               "start it with --peer (and --data-dir, --cluster-secret) to join a cluster");
}

http::Handler OnMember(cluster::ClusterMember* member, MemberHandler handler) {
  return [member, handler = std::move(handler)](http::Request& request) {
    return member ? handler(request, *member) : NotClustered(request);
  };
}

json LeaderFields(const cluster::ClusterMember& m) {
  const json status = m.RaftStatus();
  return {{"leader_id", status["leader_id"]}, {"leader_address", status["leader_address"]}};
}

http::Response NotCommitted(const http::Request& request, const raft::Error& e, const cluster::ClusterMember& m) {
  const int code = e.code == raft::ErrorCode::kTimeout ? 504 : 503;
  return http::Response::Error(request, code, raft::ErrorCodeName(e.code), "not committed", e.message, LeaderFields(m));
}

http::Response NotLeader(const http::Request& request, const cluster::ClusterMember& m) {
  const json leader = LeaderFields(m);
  if (leader["leader_id"].is_null()) {
    return http::Response::Error(request, 503, "not_leader", "no leader is known",
                                 "the cluster is electing a leader; retry shortly", leader);
  }
  return http::Response::Error(request, 409, "not_leader", "this member is not the leader", "send it to the leader",
                               leader);
}

std::string NowRfc3339() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return stamp;
}

common::Expected<raft::Index, http::Response> Commit(const http::Request& request, cluster::ClusterMember& m,
                                                     std::string command) {
  if (const auto only = request.Header("X-Stego-Leader-Only");
      only && *only == "true" && m.node().Status().role != raft::Role::kLeader) {
    return common::Unexpected<http::Response>{NotLeader(request, m)};
  }
  auto applied = m.node().Propose(std::move(command)).get();
  if (!applied) return common::Unexpected<http::Response>{NotCommitted(request, applied.error(), m)};
  if (std::string why = m.state().OutcomeAt(*applied); !why.empty()) {
    return common::Unexpected<http::Response>{http::Response::Error(request, 409, "refused", "the write was refused", why)};
  }
  return *applied;
}

std::optional<http::Response> ConfirmFreshIfAsked(const http::Request& request, cluster::ClusterMember& m) {
  const auto consistent = request.Query("consistent");
  if (!consistent || *consistent == "false") return std::nullopt;
  if (auto r = m.node().ReadIndex().get(); !r) return NotCommitted(request, r.error(), m);
  return std::nullopt;
}

}  // namespace api
