#include "worker/api/replicated.h"

#include <nlohmann/json.hpp>

#include "common/rfc3339.h"

namespace api {
namespace {

using json = nlohmann::json;

// Where a client should retry: {leader_id, leader_address} (null when unknown).
json LeaderFields(const cluster::LeaderHint& leader) {
  if (!leader.known()) return {{"leader_id", nullptr}, {"leader_address", nullptr}};
  return {{"leader_id", leader.name}, {"leader_address", leader.address}};
}

}  // namespace

http::Handler OnMember(cluster::ClusterMember* member, MemberHandler handler) {
  return [member, handler = std::move(handler)](http::Request& request) {
    return member ? handler(request, *member) : NotClustered(request);
  };
}

http::Response NotLeader(const http::Request& request, const cluster::LeaderHint& leader) {
  if (!leader.known()) {
    return http::Response::Error(request, 503, "not_leader", "no leader is known",
                                 "the cluster is electing a leader; retry shortly", LeaderFields(leader));
  }
  return http::Response::Error(request, 409, "not_leader", "this member is not the leader", "send it to the leader",
                               LeaderFields(leader));
}

http::Response ClusterError(const http::Request& request, const cluster::Error& error,
                            const cluster::ClusterMember& m) {
  using Code = cluster::ErrorCode;
  const std::string code(cluster::ErrorCodeName(error.code));
  switch (error.code) {
    case Code::kRefused:
      return http::Response::Error(request, 409, code, "the write was refused", error.message);
    case Code::kNotLeader:
      return NotLeader(request, m.Leader());
    case Code::kInvalidChange:
    case Code::kInvalidTarget:
    case Code::kLearnerNotCaughtUp:
      return http::Response::Error(request, 400, code, "change refused", error.message);
    default:
      return http::Response::Error(request, error.code == Code::kTimeout ? 504 : 503, code, "not committed",
                                   error.message, LeaderFields(m.Leader()));
  }
}

std::string NowRfc3339() { return common::FormatRfc3339(std::chrono::system_clock::now()); }

Answer<cluster::Index> Commit(const http::Request& request, cluster::ClusterMember& m, std::string command) {
  if (const auto only = request.Header("X-Stego-Leader-Only"); only && *only == "true" && !m.IsLeader()) {
    return common::Unexpected{NotLeader(request, m.Leader())};
  }
  auto applied = m.Commit(std::move(command));
  if (!applied) return common::Unexpected{ClusterError(request, applied.error(), m)};
  return *applied;
}

std::optional<http::Response> ConfirmFresh(const http::Request& request, cluster::ClusterMember& m) {
  if (auto fresh = m.ConfirmFresh(); !fresh) return ClusterError(request, fresh.error(), m);
  return std::nullopt;
}

std::optional<http::Response> ConfirmFreshIfAsked(const http::Request& request, cluster::ClusterMember& m) {
  const auto consistent = request.Query("consistent");
  if (!consistent || *consistent == "false") return std::nullopt;
  return ConfirmFresh(request, m);
}

}  // namespace api
