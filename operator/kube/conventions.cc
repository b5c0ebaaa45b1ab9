#include "operator/kube/conventions.h"

#include <cstdio>
#include <ctime>
#include <optional>
#include <utility>

#include "common/base64.h"

#include "common/rfc3339.h"

namespace kube {
namespace {

using common::Unexpected;

std::optional<std::string> SegmentError(std::string_view segment, std::string_view what) {
  if (segment == "." || segment == "..") return std::string(what) + " \"" + std::string(segment) + "\" is not a valid name";
  for (unsigned char c : segment) {
    if (c == '/' || c == '%' || c < 0x20 || c == 0x7f) {
      return std::string(what) + " \"" + std::string(segment) + "\" may not contain '/', '%' or control characters";
    }
  }
  return std::nullopt;
}

}  // namespace

common::Expected<std::string, std::string> ResourcePath(const GroupVersionResource& gvr, std::string_view ns,
                                                        std::string_view name, std::string_view subresource) {
  if (gvr.version.empty() || gvr.resource.empty()) return Unexpected{std::string("resource: version and resource are required")};
  if (gvr.namespaced && ns.empty() && !name.empty()) {
    return Unexpected{"resource: " + gvr.resource + " \"" + std::string(name) + "\" is namespaced; a namespace is required"};
  }
  if (!subresource.empty() && name.empty()) return Unexpected{"resource: subresource " + std::string(subresource) + " needs a name"};
  const std::pair<std::string_view, const char*> parts[] = {
      {gvr.group, "group"}, {gvr.version, "version"}, {gvr.resource, "resource"},
      {ns, "namespace"},    {name, "name"},           {subresource, "subresource"}};
  for (const auto& [segment, what] : parts) {
    if (auto error = SegmentError(segment, what)) return Unexpected{*error};
  }
  std::string path = gvr.group.empty() ? "/api/" + gvr.version : "/apis/" + gvr.group + "/" + gvr.version;
  if (gvr.namespaced && !ns.empty()) path += "/namespaces/" + std::string(ns);
  path += "/" + gvr.resource;
  if (!name.empty()) path += "/" + std::string(name);
  if (!subresource.empty()) path += "/" + std::string(subresource);
  return path;
}

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                            c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(static_cast<char>(c));
    } else {
      out += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  return out;
}

std::string QueryString(const QueryParams& params) {
  std::string out;
  for (const auto& [key, value] : params) {
    out += out.empty() ? "?" : "&";
    out += PercentEncode(key) + "=" + PercentEncode(value);
  }
  return out;
}

common::Expected<std::string, std::string> DecodeBase64(std::string_view text) {
  std::string clean;
  for (char c : text) {
    if (c != '\n' && c != '\r' && c != ' ' && c != '\t') clean.push_back(c);
  }
  if (clean.size() % 4 != 0) return Unexpected{std::string("not valid base64 (length)")};
  std::optional<std::string> decoded = common::Base64Decode(clean);
  if (!decoded) return Unexpected{std::string("not valid base64")};
  return std::move(*decoded);
}

std::string FormatTime(WallTime t) { return common::FormatRfc3339(t); }
std::string FormatMicroTime(WallTime t) { return common::FormatRfc3339(t, 6); }

std::optional<WallTime> ParseTime(std::string_view text) {
  std::tm tm{};
  const std::string s(text);
  const char* rest = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == nullptr) return std::nullopt;
  std::chrono::microseconds fraction{0};
  if (*rest == '.') {
    ++rest;
    long long scale = 100000;
    long long micros = 0;
    if (*rest < '0' || *rest > '9') return std::nullopt;
    for (; *rest >= '0' && *rest <= '9'; ++rest) {
      micros += (*rest - '0') * scale;
      scale /= 10;
    }
    fraction = std::chrono::microseconds(micros);
  }
  std::chrono::seconds offset{0};
  if (*rest == 'Z') {
    ++rest;
  } else if (*rest == '+' || *rest == '-') {
    int hh = 0, mm = 0;
    if (std::sscanf(rest + 1, "%2d:%2d", &hh, &mm) != 2) return std::nullopt;
    offset = std::chrono::seconds((hh * 3600 + mm * 60) * (*rest == '+' ? 1 : -1));
    rest += 6;
  } else {
    return std::nullopt;
  }
  if (*rest != '\0') return std::nullopt;
  const std::time_t tt = timegm(&tm);
  return WallTime(std::chrono::seconds(tt) - offset) + fraction;
}

}  // namespace kube
