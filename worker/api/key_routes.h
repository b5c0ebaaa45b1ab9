// The API keys (cluster/key_store.h): their routes, and the AccessControl that honours them.
//   POST   /api/v1/keys       (admin) {"name", "role": "user"|"admin" (default user)} -> 201
//                             {id, name, role, created_at, key}: the secret, shown this once
//   GET    /api/v1/keys       (admin) {keys: [{id, name, role, created_at}]}; ?consistent=true
//                             first confirms this member has applied everything committed
//   DELETE /api/v1/keys/{id}  (admin) 204 once applied here; 404 for an unknown id
// Writes answer once committed and applied on this member (replicated.h has the other answers).
// A worker started without a peer port has no replicated state: these answer 503 not_clustered.
#pragma once

#include <string>

#include "worker/api/access.h"
#include "worker/api/endpoints.h"

namespace cluster {
class ClusterMember;
}

namespace api {

// The worker's AccessControl: the --admin-key and, on a member, the replicated API keys. Keys are
// looked up in the member's state on every request, so a key created or deleted takes effect on a
// member as soon as it has applied the command. `member` may be null; it must outlive the result.
AccessControl ApiKeyAccess(std::string admin_key, const cluster::ClusterMember* member);

// `member` may be null (a standalone worker); it must otherwise outlive the server.
void AddKeyRoutes(Endpoints& endpoints, cluster::ClusterMember* member);

}  // namespace api
