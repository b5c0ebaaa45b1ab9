// The served OpenAPI document and the router must describe the same API: every route is
// documented, and every documented operation is served.
#include "worker/api/openapi.h"

#include <set>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/metrics.h"
#include "worker/api/cluster_routes.h"
#include "worker/api/cover_routes.h"
#include "worker/api/job_routes.h"
#include "worker/api/key_routes.h"
#include "worker/api/service_routes.h"
#include "worker/api/stego_routes.h"
#include "worker/stego/synthetic.h"

namespace api {
namespace {

std::string Lower(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

TEST(OpenApi, DocumentsExactlyTheServedRoutes) {
  http::Router router;
  PauseSwitch pause;
  common::Metrics metrics;  // declared before the routes that record into it
  const AccessControl access("");
  Endpoints endpoints(router, pause, access);
  AddStegoRoutes(endpoints, {.tunables = nullptr,
                             .default_cover = std::make_shared<const stego::PngTemplate>(*stego::PngTemplate::Prepare(
                                 std::make_shared<const stego::Image>(stego::SyntheticCover(64, 64, 1)))),
                             .metrics = &metrics});
  AddServiceRoutes(endpoints, pause, metrics, {});
  AddClusterRoutes(endpoints, nullptr);
  AddJobRoutes(endpoints, nullptr);
  AddCoverRoutes(endpoints, nullptr, {});
  AddKeyRoutes(endpoints, nullptr);

  std::set<std::string> served;
  for (const auto& route : router.Routes()) served.insert(Lower(route.method) + " " + route.pattern);

  const auto document = nlohmann::json::parse(OpenApiDocument());
  EXPECT_EQ(document["openapi"].get<std::string>().substr(0, 2), "3.");
  std::set<std::string> documented;
  for (const auto& [path, operations] : document["paths"].items()) {
    for (const auto& [method, operation] : operations.items()) {
      documented.insert(method + " " + path);
      EXPECT_TRUE(operation.contains("responses")) << method << " " << path;
    }
  }
  EXPECT_EQ(served, documented);
}

}  // namespace
}  // namespace api
