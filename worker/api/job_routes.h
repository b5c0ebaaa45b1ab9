// The job ledger's endpoints (cluster/job_ledger.h), readable on every member:
//   GET /api/v1/jobs/{id}        the record of the job whose answer carried that request_id;
//                                404 no_such_job when unknown
//   GET /api/v1/jobs?limit=N     {jobs: [...]}, newest first; N in 1..1000, default 50
// Both take ?consistent=true (read-index, as GET /api/v1/config). Records reach the ledger in
// batches, within about a flush interval (200 ms) of the job's answer, so a client that looks a
// job up right after its answer may need to retry briefly.
// A standalone worker keeps no ledger: 503 not_clustered.
#pragma once

#include "worker/api/endpoints.h"

namespace cluster {
class ClusterMember;
}

namespace api {

// `member` may be null (a standalone worker); it must otherwise outlive the server.
void AddJobRoutes(Endpoints& endpoints, cluster::ClusterMember* member);

}  // namespace api
