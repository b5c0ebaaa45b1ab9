// How the API's routes read and write the replicated state (cluster_state.h) through a member,
// with one set of answers for every route:
//   503 not_clustered  a standalone worker (no --peer) has no replicated state
//   409 not_leader     with leader_id and leader_address, where the client retries
//   503 <raft error>   not committed (no leader, stopped), with the leader fields
//   504 timeout        the outcome is unknown: retry only idempotent writes
//   409 refused        committed, but the state refused it when applied (e.g. a key already gone)
// A write sent to a follower is forwarded to the leader through Raft, unless the client asks for
// the prototype's redirect instead with `X-Stego-Leader-Only: true`: then a follower answers
// not_leader (409 with the leader to retry at, or 503 while no leader is known).
#pragma once

#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/expected.h"
#include "worker/http/request.h"
#include "worker/http/router.h"
#include "worker/http/response.h"
#include "worker/raft/types.h"

namespace cluster {
class ClusterMember;
}

namespace api {

http::Response NotClustered(const http::Request& request);
// A route that needs the member: `handler` with it, or 503 not_clustered on a standalone worker
// (`member` null).
using MemberHandler = std::function<http::Response(http::Request&, cluster::ClusterMember&)>;
http::Handler OnMember(cluster::ClusterMember* member, MemberHandler handler);
// 409 with the leader's name and address, or 503 while this member knows no leader.
http::Response NotLeader(const http::Request& request, const cluster::ClusterMember& m);
http::Response NotCommitted(const http::Request& request, const raft::Error& e, const cluster::ClusterMember& m);
// Where a client should retry: {leader_id, leader_address} (null when unknown).
nlohmann::json LeaderFields(const cluster::ClusterMember& m);

// Now as RFC 3339 UTC to the second: the created_at a proposer stamps on a command (apply must not
// read the clock, or members would disagree).
std::string NowRfc3339();

// Proposes `command` (command.h) and waits until it is applied on this member (a follower
// forwards it to the leader). Returns its log index, or the answer to give.
common::Expected<raft::Index, http::Response> Commit(const http::Request& request, cluster::ClusterMember& m,
                                                     std::string command);

// For reads: when the request asks ?consistent=true, confirms through read-index (§6.4) that this
// member has applied everything committed before the read began. Returns the answer to give when
// that fails.
std::optional<http::Response> ConfirmFreshIfAsked(const http::Request& request, cluster::ClusterMember& m);

}  // namespace api
