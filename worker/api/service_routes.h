// The member's service endpoints: /healthz, /readyz, /metrics, /openapi.json and the
// fault-injection admin routes /admin/fail and /admin/restore.
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
};

void AddServiceRoutes(Endpoints& endpoints, PauseSwitch& pause, common::Metrics& metrics, ServiceSettings settings);

}  // namespace api
