// The OpenAPI 3 document of the worker's HTTP API, served at /openapi.json. Its source is
// worker/api/openapi.json, compiled in; a test checks that it lists exactly the routes served.
#pragma once

#include <string_view>

namespace api {

std::string_view OpenApiDocument();

}  // namespace api
