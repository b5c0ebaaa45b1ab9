#include "worker/api/service_routes.h"

#include <cstdio>
#include <cstdlib>
#include <utility>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "worker/api/load_meter.h"
#include "worker/api/openapi.h"
#include "worker/http/auth.h"

namespace api {
namespace {

using nlohmann::json;

http::Response Fail(http::Request& request, PauseSwitch& pause) {
  const json body = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  const std::string action = body.is_object() && body.contains("action") && body["action"].is_string()
                                 ? body["action"].get<std::string>()
                                 : "";
  if (action == "crash") {
    spdlog::warn("admin: crash requested (request {}); exiting at once", request.request_id);
    spdlog::default_logger()->flush();
    std::_Exit(1);  // on purpose: no cleanup, no goodbye, as a real crash
  }
  if (action == "pause") {
    pause.Pause();
    spdlog::warn("admin: paused (request {}); answering 503 until /admin/restore", request.request_id);
    return http::Response::Json(200, {{"status", "paused"}});
  }
  if (action == "isolate") {
    pause.Isolate();
    spdlog::warn("admin: isolated (request {}); no Raft traffic until /admin/restore", request.request_id);
    return http::Response::Json(200, {{"status", "isolated"}});
  }
  return http::Response::Error(request, 400, "invalid_parameter", "invalid parameter 'action'",
                               "send a JSON body {\"action\": \"crash\" | \"pause\" | \"isolate\"}",
                               json{{"field", "action"}});
}

}  // namespace

void AddServiceRoutes(Endpoints& endpoints, PauseSwitch& pause, common::Metrics& metrics, ServiceSettings settings) {
  const http::RouteOptions quiet{.quiet = true};
  endpoints.Add("GET", "/healthz", Access::kPublic, [](http::Request&) { return http::Response::Json(200, {{"status", "healthy"}}); },
                quiet);
  endpoints.Add("GET", "/readyz", Access::kPublic, [readiness = settings.readiness](http::Request& request) {
    if (auto reason = readiness ? readiness() : std::nullopt) {
      return http::Response::Error(request, 503, "not_ready", "not ready", *reason);
    }
    return http::Response::Json(200, {{"status", "ready"}});
  }, quiet);
  auto& memory = metrics.GetGauge("process_resident_memory_bytes", "Resident memory size in bytes.");
  metrics.GaugeFamily("stego_build_info", "Build of this worker.", {"version", "node"})
      .WithLabels({STEGO_VERSION, settings.node_id})
      .Set(1);
  endpoints.Add("GET", "/metrics", Access::kPublic, [&metrics, &memory](http::Request&) {
    memory.Set(ResidentMemoryBytes());
    return http::Response::Text(200, metrics.Render(), std::string(common::kPrometheusContentType));
  }, quiet);
  endpoints.Add("GET", "/openapi.json", Access::kPublic, [](http::Request&) {
    return http::Response::Bytes(200, "application/json", std::string(OpenApiDocument()));
  });
  endpoints.AddAlwaysOn("POST", "/admin/fail", Access::kAdmin, [&pause](http::Request& request) {
    return Fail(request, pause);
  });
  endpoints.AddAlwaysOn("POST", "/admin/drain", Access::kAdmin, [drain = settings.drain](http::Request& request) {
    spdlog::info("admin: draining (request {}): unready from now on, serving until SIGTERM", request.request_id);
    if (drain) drain();
    return http::Response::Json(200, {{"status", "draining"}});
  }, {.name = "admin_drain", .compute = true, .max_body_bytes = 4 << 10});
  endpoints.AddAlwaysOn("POST", "/admin/restore", Access::kAdmin, [&pause](http::Request& request) {
    pause.Restore();
    spdlog::info("admin: restored (request {})", request.request_id);
    return http::Response::Json(200, {{"status", "serving"}});
  });
}

}  // namespace api
