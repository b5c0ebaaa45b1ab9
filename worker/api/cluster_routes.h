// The member's cluster endpoints:
//   GET /raft/status       this member's Raft view (id, role, term, leader and its address,
//                          commit, applied, voters, learners) — what the operator reads
//   GET /cluster/status    the prototype's view: term, leader_id, every member's role, health
//                          (it answered, and is not paused) and load (cpu, memory, qps, p95)
//   GET /api/v1/cluster    this member's Raft view and every member's commit and applied index
//                          (asked of each), suffrage and, on the leader, match, lag, last contact
//   GET /api/v1/config     the replicated cluster configuration and its version;
//                          ?consistent=true first confirms leadership (read-index, §6.4)
//   PUT /api/v1/config     (admin) a patch of known keys, replicated; answers once applied here
//   POST /admin/transfer-leadership  (admin) {"target": name} or {}: hand leadership over
//   POST /admin/members    (admin) {"action": "promote"|"remove", "name"} or
//                          {"action": "add", "id", "name", "peer", "http"}: one membership change
// The admin routes act on the leader; elsewhere they answer 409 not_leader with the leader's
// name and API address, where the caller retries.
// A worker started without a peer port is not a cluster member: these answer 503 not_clustered.
#pragma once

#include <string>

#include "worker/api/endpoints.h"

namespace cluster {
class ClusterMember;
}

namespace api {

// `member` may be null (a standalone worker); it must otherwise outlive the server.
void AddClusterRoutes(Endpoints& endpoints, cluster::ClusterMember* member);

}  // namespace api
