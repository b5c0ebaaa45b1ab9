#include "worker/http/cors.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <nlohmann/json.hpp>

namespace http {
namespace {

constexpr std::size_t kMaxOriginLength = 300;  // scheme + a 253-character host + port

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char ch) { return std::tolower(ch); });
  return out;
}

// A DNS name or IPv4 address, or a bracketed IPv6 address.
bool IsHost(std::string_view host) {
  if (host.empty()) return false;
  if (host.front() == '[') {
    return host.size() > 2 && host.back() == ']' &&
           host.substr(1, host.size() - 2).find_first_not_of("0123456789abcdef:.") == std::string_view::npos;
  }
  return host.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-.") == std::string_view::npos;
}

bool IsPort(std::string_view port) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  return !port.empty() && ec == std::errc() && end == port.data() + port.size() && value >= 1 && value <= 65535;
}

// Splits "a, b,c" and calls `each` with every non-blank, trimmed item.
template <class Each>
void ForEachItem(std::string_view list, Each&& each) {
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    const std::string_view item = TrimWhitespace(list.substr(0, comma));
    if (!item.empty()) each(item);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

}  // namespace

common::Expected<std::string, std::string> NormalizeOrigin(std::string_view text) {
  if (text == "*") return std::string(text);
  auto bad = [&](std::string_view why) {
    return common::Unexpected{"'" + std::string(text.substr(0, kMaxOriginLength)) + "' is not an origin (" +
                              std::string(why) + "); expected scheme://host[:port], e.g. http://127.0.0.1:8090, or *"};
  };
  if (text.size() > kMaxOriginLength) return bad("too long");
  std::string origin = Lower(text);
  if (origin.ends_with('/')) origin.pop_back();
  const std::size_t separator = origin.find("://");
  if (separator == std::string::npos) return bad("no scheme");
  const std::string_view scheme = std::string_view(origin).substr(0, separator);
  if (scheme != "http" && scheme != "https") return bad("the scheme must be http or https");
  std::string_view authority = std::string_view(origin).substr(separator + 3);
  if (authority.find_first_of("/?#@") != std::string_view::npos) return bad("an origin has no path, query or user");
  // The port follows the last ':' outside an IPv6 address's brackets.
  const std::size_t colon = authority.rfind(':');
  const bool has_port = colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos;
  if (has_port && !IsPort(authority.substr(colon + 1))) return bad("the port must be 1-65535");
  if (!IsHost(has_port ? authority.substr(0, colon) : authority)) return bad("bad host");
  return origin;
}

common::Expected<std::vector<std::string>, std::string> ParseOriginList(std::string_view comma_list) {
  std::vector<std::string> origins;
  std::string error;
  ForEachItem(comma_list, [&](std::string_view item) {
    if (!error.empty()) return;
    auto origin = NormalizeOrigin(item);
    if (!origin) error = origin.error();
    else if (std::find(origins.begin(), origins.end(), *origin) == origins.end()) origins.push_back(std::move(*origin));
  });
  if (!error.empty()) return common::Unexpected{std::move(error)};
  return origins;
}

bool OriginListed(const std::vector<std::string>& list, std::string_view origin) {
  return std::any_of(list.begin(), list.end(),
                     [&](const std::string& entry) { return entry == "*" || EqualsIgnoreCase(entry, origin); });
}

bool CorsPolicy::IsPreflight(const Request& request) {
  return request.method == "OPTIONS" && request.Header("Origin") && request.Header("Access-Control-Request-Method");
}

Response CorsPolicy::Preflight(const Request& request, std::string_view methods) const {
  const std::string_view origin = request.Header("Origin").value_or("");
  if (!Allows(origin)) {
    return Response::Error(request, 403, "origin_not_allowed", "origin not allowed",
                           "cross-origin requests from " + std::string(origin) +
                               " are not allowed here; the server's operator lists the allowed origins",
                           nlohmann::json{{"origin", origin}});
  }
  Response response;
  response.status = 204;
  response.headers.Set("Access-Control-Allow-Methods", std::string(methods));
  response.headers.Set("Access-Control-Allow-Headers",
                       AllowHeaders(request.Header("Access-Control-Request-Headers").value_or("")));
  response.headers.Set("Access-Control-Max-Age", std::to_string(options_.max_age.count()));
  return response;
}

std::string CorsPolicy::AllowHeaders(std::string_view requested) const {
  std::vector<std::string> echoed;
  bool all_allowed = true;
  ForEachItem(requested, [&](std::string_view name) {
    const bool allowed = std::any_of(options_.allowed_headers.begin(), options_.allowed_headers.end(),
                                     [&](const std::string& known) { return EqualsIgnoreCase(known, name); });
    all_allowed = all_allowed && allowed;
    echoed.emplace_back(name);
  });
  // Echoing exactly what was asked keeps the answer short; when something was not allowed the
  // browser must see the real list (and refuses the request itself).
  return all_allowed && !echoed.empty() ? Join(echoed) : Join(options_.allowed_headers);
}

void CorsPolicy::Decorate(std::string_view origin, Response& response) const {
  const auto vary = response.headers.Get("Vary");
  if (!vary) response.headers.Set("Vary", "Origin");
  else if (vary->find("Origin") == std::string_view::npos) response.headers.Set("Vary", std::string(*vary) + ", Origin");
  if (!Allows(origin)) return;
  response.headers.Set("Access-Control-Allow-Origin", std::string(origin));
  if (!options_.exposed_headers.empty()) {
    response.headers.Set("Access-Control-Expose-Headers", Join(options_.exposed_headers));
  }
}

}  // namespace http
