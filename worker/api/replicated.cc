#include "worker/api/replicated.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "common/rfc3339.h"
#include "worker/cluster/hex.h"

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
    case Code::kTargetLagging:
      return http::Response::Error(request, 409, code, "transfer refused", error.message);
    case Code::kKeyReused:
      return http::Response::Error(request, 422, code, "idempotency key reused", error.message,
                                   json{{"field", "Idempotency-Key"}});
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

Answer<std::optional<cluster::RequestKey>> ClientRequestKey(const http::Request& request,
                                                            std::optional<std::string_view> what) {
  const auto key = request.Header("Idempotency-Key");
  if (!key) return std::optional<cluster::RequestKey>();
  const bool visible = std::all_of(key->begin(), key->end(), [](char c) { return c > 0x20 && c < 0x7f; });
  if (key->empty() || key->size() > 255 || !visible) {
    return common::Unexpected{BadParameter(request, "Idempotency-Key", "1-255 visible ASCII characters")};
  }
  // "c:" keeps clients' keys apart from the ones members draw for themselves.
  const std::string asked = request.method + " " + request.path + "\n" + std::string(what.value_or(request.body));
  return std::optional(cluster::RequestKey{"c:" + std::string(*key), cluster::Sha256Hex(asked)});
}

bool AlreadyApplied(const cluster::ClusterMember& m, const std::optional<cluster::RequestKey>& key) {
  return key && m.state().requests().Seen(*key).has_value();
}

Answer<cluster::Index> Commit(const http::Request& request, cluster::ClusterMember& m, std::string command,
                              std::optional<cluster::RequestKey> request_key, std::string* refused) {
  if (const auto only = request.Header("X-Stego-Leader-Only"); only && *only == "true" && !m.IsLeader()) {
    return common::Unexpected{NotLeader(request, m.Leader())};
  }
  if (!request_key) {
    auto asked = ClientRequestKey(request);
    if (!asked) return common::Unexpected{std::move(asked).error()};
    request_key = std::move(*asked);
  }
  auto applied = m.Commit(std::move(command), request_key.value_or(cluster::RequestKey{}));
  if (!applied && refused && applied.error().code == cluster::ErrorCode::kRefused) *refused = applied.error().message;
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
