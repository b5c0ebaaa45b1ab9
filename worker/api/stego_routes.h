// The steganography endpoints: /api/v1/{embed,extract,capacity,dataset/{i}} and the prototype's
// compatibility surface /api/{embed,extract,dataset/{i}}. Handlers parse and check the request,
// call the engine, and shape the answer; the engine does the work.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "common/metrics.h"
#include "worker/api/endpoints.h"
#include "worker/stego/image.h"

namespace api {

// What the cluster configuration may change at run time (cluster_state.h); read per request.
struct StegoTunables {
  int default_lsb_bits = 1;
  uint64_t max_pixels = UINT64_MAX;  // further capped by StegoSettings::max_pixels
};

struct StegoSettings {
  size_t max_upload_bytes = 32u << 20;
  uint64_t max_pixels = 40'000'000;  // this member's hard cap (--max-pixels)
  // The replicated configuration's values; null: the defaults above.
  std::function<StegoTunables()> tunables;
  // Used when a request brings no cover of its own; shared read-only by every request.
  std::shared_ptr<const stego::Image> default_cover;
  // Where stego_phase_duration_seconds{phase} is recorded: where an embed or extract spends its
  // time (probe, pack, decode, embed, encode, extract). Must outlive the routes.
  common::Metrics* metrics = nullptr;
};

void AddStegoRoutes(Endpoints& endpoints, StegoSettings settings);

// Whether `route` (a route name, the metrics label) is one of the stego jobs added above.
bool IsStegoRoute(std::string_view route);

}  // namespace api
