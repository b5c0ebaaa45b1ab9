// CORS: the Cross-Origin Resource Sharing policy the Server applies to every answer (Fetch
// standard, "CORS protocol"), so that a page served from another origin may call the API.
//
// This layer decides nothing about whom to trust: the owner of the server says, per request,
// whether an origin is allowed (CorsOptions::allows; the worker combines a flag and a replicated
// setting) and which request and answer headers a page may use.
//
// For a request whose Origin is allowed, every answer — the handler's, and the server's own
// errors (404, 413, 503 overloaded) — carries Access-Control-Allow-Origin (the origin echoed) and
// Access-Control-Expose-Headers. A preflight (OPTIONS with Origin and Access-Control-Request-Method
// on a path some route serves) is answered by the server itself, before any route guard: 204 with
// the path's methods, the allowed request headers and Max-Age for an allowed origin, 403 JSON
// "origin_not_allowed" otherwise. A disallowed origin gets no CORS fields at all, so the browser
// keeps the answer from the page. Every answer carries `Vary: Origin`, since it depends on the
// Origin of the request and a shared cache must not serve one origin's answer to another.
// No Access-Control-Allow-Credentials: callers authenticate with an Authorization header, not
// cookies.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/expected.h"
#include "worker/http/request.h"
#include "worker/http/response.h"

namespace http {

// The serialized origin browsers send, "scheme://host[:port]" (http or https, lower-case, no path,
// no default port rewriting), from what an operator typed: a trailing '/' is dropped and scheme
// and host are lower-cased. "*" stands for every origin and is kept as it is.
common::Expected<std::string, std::string> NormalizeOrigin(std::string_view text);

// "http://a.example,https://b.example:8443" -> the normalized origins; blanks around commas
// are ignored, an empty text is an empty list; the first bad entry is named.
common::Expected<std::vector<std::string>, std::string> ParseOriginList(std::string_view comma_list);

// Whether `origin` (as a browser sent it) is one of `list` (normalized), or `list` holds "*".
bool OriginListed(const std::vector<std::string>& list, std::string_view origin);

struct CorsOptions {
  // Asked once or twice per request that carries an Origin; must be thread-safe and fast.
  std::function<bool(std::string_view origin)> allows;
  // Request headers a page may send (besides the CORS-safelisted ones).
  std::vector<std::string> allowed_headers;
  // Answer headers a page may read (besides the CORS-safelisted ones).
  std::vector<std::string> exposed_headers;
  // How long a browser may cache a preflight's answer.
  std::chrono::seconds max_age{600};
};

class CorsPolicy {
 public:
  explicit CorsPolicy(CorsOptions options) : options_(std::move(options)) {}

  // OPTIONS with Origin and Access-Control-Request-Method.
  static bool IsPreflight(const Request& request);

  // The answer to a preflight for a path whose routes allow `methods` ("GET, HEAD, POST"); the
  // fields every answer gets are added by Decorate, as for any answer.
  Response Preflight(const Request& request, std::string_view methods) const;

  // Adds what an answer to a request from `origin` (empty: none sent) carries.
  void Decorate(std::string_view origin, Response& response) const;

 private:
  bool Allows(std::string_view origin) const { return !origin.empty() && options_.allows && options_.allows(origin); }
  // The requested headers echoed when all are allowed, else the allowed list.
  std::string AllowHeaders(std::string_view requested) const;

  const CorsOptions options_;
};

}  // namespace http
