// The replicated cover library's endpoints (cluster/cover_library.h):
//   POST   /api/v1/covers             (user) multipart field `file`: checked to decode as an image
//                                     within max_pixels, then replicated; 201 with its metadata
//                                     once committed, 200 when the same bytes are already there
//   GET    /api/v1/covers             (user) {covers: [metadata]}, oldest first
//   GET    /api/v1/covers/{id}        (user) one cover's metadata
//   GET    /api/v1/covers/{id}/image  (user) its original bytes
//   DELETE /api/v1/covers/{id}        (admin) answers once committed
// The GETs take ?consistent=true (read-index, §6.4). A cover this member has not applied yet is
// looked for again after read-index before the answer is 404, so that a cover acknowledged by any
// member is found on every member (embed's cover_id included, whichever member runs the job).
// A standalone worker answers 503 not_clustered.
#pragma once

#include <cstdint>

#include "worker/api/endpoints.h"
#include "worker/api/stego_routes.h"

namespace cluster {
class ClusterMember;
}

namespace api {

struct CoverRouteSettings {
  std::uint64_t max_pixels = 40'000'000;  // this member's hard cap (--max-pixels)
};

// `member` may be null (a standalone worker); it must otherwise outlive the server.
void AddCoverRoutes(Endpoints& endpoints, cluster::ClusterMember* member, CoverRouteSettings settings);

// Embed's access to the library (StegoSettings::library_cover). Decoded covers are kept in a small
// cache shared by every request: an id is a content hash, so a cached image never goes stale.
LibraryCoverLookup LibraryCovers(cluster::ClusterMember& member);

}  // namespace api
