#include "worker/api/endpoints.h"

#include <utility>

namespace api {

void Endpoints::Add(std::string method, std::string pattern, http::Handler handler, http::RouteOptions options) {
  auto guarded = [&pause = pause_, handler = std::move(handler)](http::Request& request) {
    if (pause.paused()) {
      return http::Response::Error(request, 503, "paused", "member paused",
                                   "fault injection: POST /admin/restore to resume");
    }
    return handler(request);
  };
  router_.Add(std::move(method), std::move(pattern), std::move(guarded), std::move(options));
}

void Endpoints::AddAlwaysOn(std::string method, std::string pattern, http::Handler handler,
                            http::RouteOptions options) {
  router_.Add(std::move(method), std::move(pattern), std::move(handler), std::move(options));
}

}  // namespace api
