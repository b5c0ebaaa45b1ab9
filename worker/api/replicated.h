// How the API's routes read and write the replicated state (cluster_state.h) through a member's
// narrow face (member.h), with one set of answers for every route:
//   503 not_clustered  a standalone worker (no --peer) has no replicated state
//   409 not_leader     with leader_id and leader_address, where the client retries
//   503 <error code>   not committed (no leader, stopped, dropped), with the leader fields
//   504 timeout        the outcome is unknown: retry only idempotent writes
//   409 refused        committed, but the state refused it when applied (e.g. a key already gone)
//   422 idempotency_key_reused  the Idempotency-Key came before with a different request
//   400 <error code>   a membership change or transfer that does not apply
//   409 transfer_target_lagging  the transfer's target is far behind or not answering: retry later
// A write sent to a follower is forwarded to the leader through Raft, unless the client asks for
// the prototype's redirect instead with `X-Stego-Leader-Only: true`: then a follower answers
// not_leader (409 with the leader to retry at, or 503 while no leader is known). While no leader
// is known, a write or fresh read is held (up to the request timeout) until one is: an election
// costs the client latency, not an error.
//
// Idempotency-Key (a request header, 1-255 visible ASCII characters): a client that retries a
// write with the same key gets the first try's outcome, and the write takes effect once — within
// the newest 10,000 writes (cluster/request_log.h). The same key with another method, path or
// body is refused (422). Keys are one namespace for every client: use random ones (UUIDs).
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "worker/api/errors.h"
#include "worker/cluster/error.h"
#include "worker/cluster/member.h"
#include "worker/http/request.h"
#include "worker/http/router.h"
#include "worker/http/response.h"

namespace api {

// A route that needs the member: `handler` with it, or 503 not_clustered on a standalone worker
// (`member` null).
using MemberHandler = std::function<http::Response(http::Request&, cluster::ClusterMember&)>;
http::Handler OnMember(cluster::ClusterMember* member, MemberHandler handler);

// 409 with the leader's name and address, or 503 while this member knows no leader.
http::Response NotLeader(const http::Request& request, const cluster::LeaderHint& leader);
// The answer to a cluster error (the table above).
http::Response ClusterError(const http::Request& request, const cluster::Error& error,
                            const cluster::ClusterMember& m);

// Now as RFC 3339 UTC to the second: the created_at a proposer stamps on a command (apply must not
// read the clock, or members would disagree).
std::string NowRfc3339();

// The client's Idempotency-Key as a request key (command.h), nullopt when the request has none,
// or the 400 for a malformed one. `what` stands for the request's body in the digest, where a
// route knows better (a multipart upload's boundary changes between a client's tries, its file
// does not).
Answer<std::optional<cluster::RequestKey>> ClientRequestKey(const http::Request& request,
                                                            std::optional<std::string_view> what = std::nullopt);

// Whether this member has applied the write `key` names: a client's retry, which the route's own
// checks (written for a first try, such as "no such key" before a delete) must let through to
// Commit, which answers the first try's outcome.
bool AlreadyApplied(const cluster::ClusterMember& m, const std::optional<cluster::RequestKey>& key);

// Commits `command` (command.h) and waits until it is applied on this member. Returns its log
// index, or the answer to give. `request_key`: the client's (ClientRequestKey), else one of ours.
// When the state skipped it (kRefused, answered 409), `refused`, if given, receives the state's
// reason, for a route that tells one refusal apart.
Answer<cluster::Index> Commit(const http::Request& request, cluster::ClusterMember& m, std::string command,
                              std::optional<cluster::RequestKey> request_key = std::nullopt,
                              std::string* refused = nullptr);

// Confirms through read-index (§6.4) that this member has applied everything committed before
// the read began, or gives the answer to send. ConfirmFreshIfAsked does so only when the request
// asks ?consistent=true.
std::optional<http::Response> ConfirmFresh(const http::Request& request, cluster::ClusterMember& m);
std::optional<http::Response> ConfirmFreshIfAsked(const http::Request& request, cluster::ClusterMember& m);

}  // namespace api
