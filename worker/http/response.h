// Response: what a handler returns; the server turns it into HTTP/1.x on the wire.
//
// Every error this layer produces, and every error a handler should produce, goes through
// Response::Error so clients always see the same JSON shape:
//   {"error": "<short human summary>", "code": "<stable_snake_case>", "detail": "<specifics>",
//    "request_id": "<id>", ...extra fields}
// Only nlohmann/json_fwd.hpp is included here; callers that build JSON include json.hpp themselves.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "worker/http/headers.h"

namespace http {

struct Request;

inline constexpr std::string_view kJsonContentType = "application/json";

struct Response {
  int status = 200;
  std::string content_type;  // no Content-Type header when empty
  Headers headers;           // extra fields; Content-Length, Connection and X-Request-Id are the server's
  std::string body;
  // Error answers only: the `code` of their JSON body, kept so that middleware (a job ledger,
  // metrics) need not parse the body back. Not sent.
  std::string error_code;

  static Response Json(int status, const nlohmann::json& body);
  static Response Text(int status, std::string body, std::string content_type = "text/plain; charset=utf-8");
  static Response Bytes(int status, std::string content_type, std::string body);

  // The single error helper. `extra` (a JSON object, or null) adds fields; it cannot override the
  // four standard ones.
  static Response Error(int status, std::string_view code, std::string_view error, std::string_view detail,
                        std::string_view request_id);
  static Response Error(int status, std::string_view code, std::string_view error, std::string_view detail,
                        std::string_view request_id, const nlohmann::json& extra);
  // Same, taking the request id from the request.
  static Response Error(const Request& request, int status, std::string_view code, std::string_view error,
                        std::string_view detail);
  static Response Error(const Request& request, int status, std::string_view code, std::string_view error,
                        std::string_view detail, const nlohmann::json& extra);
};

// The reason phrase of a status code ("Not Found"), or "Unknown".
std::string_view StatusReason(int status);

}  // namespace http
