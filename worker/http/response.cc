#include "worker/http/response.h"

#include <boost/beast/http/status.hpp>
#include <nlohmann/json.hpp>

#include "worker/http/request.h"

namespace http {
namespace {

// Invalid UTF-8 (a client's filename, say) is replaced rather than thrown on: an error response
// must always be producible.
std::string Dump(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

}  // namespace

Response Response::Json(int status, const nlohmann::json& body) {
  Response r;
  r.status = status;
  r.content_type = kJsonContentType;
  r.body = Dump(body);
  return r;
}

Response Response::Text(int status, std::string body, std::string content_type) {
  return Bytes(status, std::move(content_type), std::move(body));
}

Response Response::Bytes(int status, std::string content_type, std::string body) {
  Response r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.body = std::move(body);
  return r;
}

Response Response::Error(int status, std::string_view code, std::string_view error, std::string_view detail,
                         std::string_view request_id) {
  return Error(status, code, error, detail, request_id, nlohmann::json());
}

Response Response::Error(int status, std::string_view code, std::string_view error, std::string_view detail,
                         std::string_view request_id, const nlohmann::json& extra) {
  nlohmann::json body = nlohmann::json::object();
  if (extra.is_object()) body = extra;
  body["error"] = error;
  body["code"] = code;
  body["detail"] = detail;
  body["request_id"] = request_id;
  Response response = Json(status, body);
  response.error_code = code;
  return response;
}

Response Response::Error(const Request& request, int status, std::string_view code, std::string_view error,
                         std::string_view detail) {
  return Error(status, code, error, detail, request.request_id, nlohmann::json());
}

Response Response::Error(const Request& request, int status, std::string_view code, std::string_view error,
                         std::string_view detail, const nlohmann::json& extra) {
  return Error(status, code, error, detail, request.request_id, extra);
}

std::string_view StatusReason(int status) {
  const auto s = boost::beast::http::int_to_status(static_cast<unsigned>(status));
  const auto reason = boost::beast::http::obsolete_reason(s);
  return std::string_view(reason.data(), reason.size());
}

}  // namespace http
