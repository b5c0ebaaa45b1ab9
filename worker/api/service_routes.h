// The member's service endpoints: /healthz, /readyz, /metrics, /openapi.json, the
// fault-injection admin routes /admin/fail and /admin/restore, and /admin/drain.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "common/metrics.h"
#include "worker/api/endpoints.h"

namespace api {

// Why the member cannot take API calls yet, or nullopt when it can. Single-node workers are ready
// as soon as they serve; cluster members will add "no leader" and "applied index behind".
using ReadinessProbe = std::function<std::optional<std::string>()>;

struct ServiceSettings {
  std::string node_id;
  ReadinessProbe readiness;
  // POST /admin/drain (admin; the pod's preStop hook calls it): turn unready for good and hand
  // leadership over if leading, while the member goes on serving until SIGTERM. Idempotent.
  std::function<void()> drain;
};

void AddServiceRoutes(Endpoints& endpoints, PauseSwitch& pause, common::Metrics& metrics, ServiceSettings settings);

}  // namespace api
