// Router: maps (method, path) to a handler and the options the server runs it with.
//
// Patterns are absolute paths made of '/'-separated segments; a segment is a literal, a parameter
// "{name}" (one non-empty segment), or, as the last segment only, a tail "{name...}" (the rest of
// the path, possibly empty). When several patterns match, the most specific wins, comparing segment
// by segment: literal beats parameter beats tail. Examples:
//   router.Add("GET", "/api/v1/dataset/{i}", handler, {.name = "dataset", .compute = true});
//   router.Add("GET", "/ui/{file...}", static_handler, {.name = "ui"});
//
// A GET route also answers HEAD (the server drops the body) unless a HEAD route exists.
// Thread safety: add every route before Server::Start(); afterwards the router is only read.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "worker/http/request.h"
#include "worker/http/response.h"

namespace http {

// May throw: the server answers 500 and keeps running.
using Handler = std::function<Response(Request&)>;

struct RouteOptions {
  std::string name{};        // metrics/log label; defaults to the pattern
  bool compute = false;      // run on the bounded compute pool (else inline on an IO thread)
  bool quiet = false;        // log at debug instead of info (probes, scrapes)
  std::uint64_t max_body_bytes = 0;  // 0: the server's limit
  // Compute routes only: the memory one job may use beyond its request body while it waits and
  // runs (decoded images, encoder buffers, the answer), charged at admission (server.h).
  // 0: the server's default.
  std::uint64_t working_set_bytes = 0;
  // Compute routes only: asked once the body has been read. A handler it returns serves the
  // request instead, on the server's relay pool — threads that wait on another server (a job the
  // cluster leader dispatches to another member) without holding a compute thread. Empty: the
  // route's own handler runs on the compute pool as usual.
  std::function<Handler(const Request&)> relay{};
  // The kind of job the route computes ("embed", "extract"...), for middleware that acts on jobs
  // (a cluster member's job ledger and dispatch); empty for every other route.
  std::string job{};
};

struct RouteInfo {
  std::string method;
  std::string pattern;
  RouteOptions options;
};

// Wraps a route's handler (and may set its options) as it is added: concerns that apply to many
// routes and that their handlers should know nothing of.
using Middleware = std::function<Handler(RouteInfo& route, Handler handler)>;

class Router {
 public:
  struct Route {
    RouteInfo info;
    Handler handler;
    std::vector<std::string> segments;  // pattern split on '/'
  };

  enum class Outcome { kFound, kNotFound, kMethodNotAllowed };
  struct Match {
    Outcome outcome = Outcome::kNotFound;
    const Route* route = nullptr;  // when kFound
    std::map<std::string, std::string, std::less<>> params;
    std::string allow;             // when kMethodNotAllowed: e.g. "GET, HEAD, POST"
  };

  Router() = default;
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Throws std::invalid_argument on a malformed pattern or a duplicate (method, pattern).
  void Add(std::string method, std::string pattern, Handler handler, RouteOptions options = {});

  // `path` is the percent-decoded path without query.
  Match Find(std::string_view method, std::string_view path) const;

  // Every route, in registration order.
  std::vector<RouteInfo> Routes() const;

 private:
  std::vector<std::unique_ptr<Route>> routes_;
};

}  // namespace http
