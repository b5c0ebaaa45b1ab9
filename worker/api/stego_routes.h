// The steganography endpoints: /api/v1/{embed,extract,capacity,dataset/{i}} and the prototype's
// compatibility surface /api/{embed,extract,dataset/{i}}. Handlers parse and check the request,
// call the engine, and shape the answer; the engine does the work. The routes know nothing of the
// cluster: they name the job they compute (RouteOptions::job), and a member's middleware records
// and places those jobs (api/cluster_binding.h). They are pure computations:
// none waits for, or depends on, the Raft leader (only a cover_id the member has not applied
// yet makes it ask, see cover_routes.h), so a member cut off from its cluster still serves them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/metrics.h"
#include "worker/api/endpoints.h"
#include "worker/api/errors.h"
#include "worker/http/request.h"
#include "worker/http/response.h"
#include "worker/stego/error.h"
#include "worker/stego/image.h"
#include "worker/stego/png_writer.h"
#include "worker/stego/probe.h"

namespace api {

// What the cluster configuration may change at run time (cluster_state.h); read per request.
struct StegoTunables {
  int default_lsb_bits = 1;
  uint64_t max_pixels = UINT64_MAX;  // further capped by StegoSettings::max_pixels
};

// A cover of the replicated library (cover_routes.h), as embed uses it.
struct LibraryCover {
  std::string name;       // its upload's file name; may be empty
  stego::ImageInfo info;  // from its metadata: limits and capacity are checked before decoding
  // Its pixels, decoded once and shared read-only: embed works on a copy.
  std::function<stego::Result<std::shared_ptr<const stego::Image>>()> decode;
};

// Finds the cover a request's cover_id names, or answers why not (400 malformed id, 404 unknown).
using LibraryCoverLookup = std::function<Answer<LibraryCover>(const http::Request&, std::string_view id)>;

struct StegoSettings {
  // This worker's name (--node-id): every job's answer names where it ran in X-Stego-Member.
  std::string member_name{};
  size_t max_upload_bytes = 32u << 20;
  uint64_t max_pixels = 40'000'000;  // this member's hard cap (--max-pixels)
  // The replicated configuration's values; null: the defaults above.
  std::function<StegoTunables()> tunables;
  // Used when a request brings no cover of its own; shared read-only by every request, with its PNG
  // prepared so that an embed deflates only the rows it changed.
  std::shared_ptr<const stego::PngTemplate> default_cover;
  // Where stego_phase_duration_seconds{phase} is recorded: where an embed or extract spends its
  // time (probe, pack, decode, embed, encode, extract). Must outlive the routes.
  common::Metrics* metrics = nullptr;
  // The replicated cover library (cover_routes.h), for embed's cover_id. Null on a standalone
  // worker, which has none: cover_id answers 503 not_clustered.
  LibraryCoverLookup library_cover{};
};

// What one stego job may hold beyond its request body while it waits and runs, charged against
// the compute memory budget at admission (http/server.h). Measured (docs/architecture.md,
// "Admission"): the worker's peak RSS grows by 8-10 MB per running embed into the default 1080p
// cover (the cover's copy, the PNG bands, the answer), 15-17 MB for the first one; rounded up. A
// queued job holds only its body (~1-2x its size), so the charge is conservative while it waits.
// Jobs on larger uploaded covers use more; --max-pixels bounds them.
inline constexpr uint64_t kStegoJobWorkingSetBytes = 16ull << 20;

void AddStegoRoutes(Endpoints& endpoints, StegoSettings settings);

// Whether `route` (a route name, the metrics label) is one of the stego jobs added above.
bool IsStegoRoute(std::string_view route);

}  // namespace api
