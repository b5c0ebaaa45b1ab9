#include "worker/api/endpoints.h"

#include <utility>

namespace api {

http::Handler Endpoints::Guarded(Access access, http::Handler handler) const {
  return [&control = access_, access, handler = std::move(handler)](http::Request& request) {
    if (auto refused = control.Check(request, access)) return std::move(*refused);
    return handler(request);
  };
}

http::Handler Endpoints::Wrapped(http::RouteInfo& route, http::Handler handler) const {
  for (const http::Middleware& middleware : middleware_) handler = middleware(route, std::move(handler));
  return handler;
}

void Endpoints::Add(std::string method, std::string pattern, Access access, http::Handler handler,
                    http::RouteOptions options) {
  http::RouteInfo route{std::move(method), std::move(pattern), std::move(options)};
  handler = Wrapped(route, std::move(handler));
  options = std::move(route.options);
  auto paused_or = [&pause = pause_, handler = Guarded(access, std::move(handler))](http::Request& request) {
    if (pause.paused()) {
      return http::Response::Error(request, 503, "paused", "member paused",
                                   "fault injection: POST /admin/restore to resume");
    }
    return handler(request);
  };
  if (options.relay) {
    // A relayed request skips this route's handler, and with it the checks above: a refused or
    // paused request is not relayed, so the route's own handler answers it.
    options.relay = [&control = access_, &pause = pause_, access,
                     relay = std::move(options.relay)](const http::Request& request) -> http::Handler {
      if (pause.paused() || control.Check(request, access)) return {};
      return relay(request);
    };
  }
  router_.Add(std::move(route.method), std::move(route.pattern), std::move(paused_or), std::move(options));
}

void Endpoints::AddAlwaysOn(std::string method, std::string pattern, Access access, http::Handler handler,
                            http::RouteOptions options) {
  http::RouteInfo route{std::move(method), std::move(pattern), std::move(options)};
  handler = Wrapped(route, std::move(handler));
  router_.Add(std::move(route.method), std::move(route.pattern), Guarded(access, std::move(handler)),
              std::move(route.options));
}

}  // namespace api
