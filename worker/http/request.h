// Request: one HTTP request as a handler sees it, already read in full and free of any transport
// type (no Boost in this header, so handler code compiles fast).
//
// The server fills every field before calling the handler; the handler owns the object for the
// call and may move the body out of it (large uploads).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "worker/http/headers.h"

namespace http {

struct Request {
  std::string method;   // as sent, e.g. "GET" (methods are case-sensitive)
  std::string target;   // raw request-target, e.g. "/api/v1/dataset/3?format=png"
  std::string path;     // percent-decoded path, no query, e.g. "/api/v1/dataset/3"
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order; '+' means space
  Headers headers;
  std::string body;
  std::map<std::string, std::string, std::less<>> path_params;  // from the route pattern
  std::string route;    // name of the matched route (its metrics label)
  std::string request_id;
  std::string remote_address;  // peer IP
  std::uint16_t remote_port = 0;
  int version = 11;            // 10 or 11

  std::optional<std::string_view> Header(std::string_view name) const { return headers.Get(name); }
  // First query parameter of that name.
  std::optional<std::string_view> Query(std::string_view name) const;
  // Path parameter of the route pattern ("{i}" -> Param("i")); empty when absent.
  std::string_view Param(std::string_view name) const;
};

// Percent-decodes `in` (and '+' as space when `plus_as_space`). Returns nullopt on a malformed escape
// or a decoded NUL byte.
std::optional<std::string> PercentDecode(std::string_view in, bool plus_as_space);

// Splits "a=1&b=&c" into decoded pairs; nullopt on a malformed escape.
std::optional<std::vector<std::pair<std::string, std::string>>> ParseQuery(std::string_view query);

}  // namespace http
