#include "worker/http/router.h"

#include <algorithm>
#include <stdexcept>

namespace http {
namespace {

enum class SegmentKind { kLiteral = 0, kParam = 1, kTail = 2 };  // lower is more specific

SegmentKind KindOf(std::string_view segment) {
  if (segment.size() >= 2 && segment.front() == '{' && segment.back() == '}') {
    return segment.ends_with("...}") ? SegmentKind::kTail : SegmentKind::kParam;
  }
  return SegmentKind::kLiteral;
}

std::string_view ParamName(std::string_view segment) {
  segment = segment.substr(1, segment.size() - 2);
  if (segment.ends_with("...")) segment.remove_suffix(3);
  return segment;
}

// "/a/b/" -> {"a", "b", ""}; "/" -> {""}.
std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> out;
  path.remove_prefix(1);
  while (true) {
    const std::size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

// Matches `path` segments against a route; fills params and the specificity key on success.
bool MatchRoute(const Router::Route& route, std::string_view path, const std::vector<std::string_view>& parts,
                std::map<std::string, std::string, std::less<>>& params, std::vector<SegmentKind>& key) {
  params.clear();
  key.clear();
  const auto& segs = route.segments;
  for (std::size_t i = 0; i < segs.size(); ++i) {
    const SegmentKind kind = KindOf(segs[i]);
    key.push_back(kind);
    if (kind == SegmentKind::kTail) {
      // The rest of the path, from this segment on (may be empty).
      std::size_t offset = 1;
      for (std::size_t j = 0; j < i && j < parts.size(); ++j) offset += parts[j].size() + 1;
      params.emplace(ParamName(segs[i]), offset <= path.size() ? path.substr(offset) : std::string_view());
      return parts.size() >= i;
    }
    if (i >= parts.size()) return false;
    if (kind == SegmentKind::kParam) {
      if (parts[i].empty()) return false;
      params.emplace(ParamName(segs[i]), parts[i]);
    } else if (segs[i] != parts[i]) {
      return false;
    }
  }
  return parts.size() == segs.size();
}

}  // namespace

void Router::Add(std::string method, std::string pattern, Handler handler, RouteOptions options) {
  if (method.empty()) throw std::invalid_argument("route method is empty");
  if (pattern.empty() || pattern.front() != '/') throw std::invalid_argument("route pattern must start with '/': " + pattern);
  if (!handler) throw std::invalid_argument("route " + pattern + " has no handler");
  auto route = std::make_unique<Route>();
  for (std::string_view seg : Split(pattern)) {
    const SegmentKind kind = KindOf(seg);
    if (kind != SegmentKind::kLiteral && ParamName(seg).empty()) {
      throw std::invalid_argument("route " + pattern + " has an unnamed parameter");
    }
    if (kind == SegmentKind::kLiteral && (seg.find('{') != std::string_view::npos || seg.find('}') != std::string_view::npos)) {
      throw std::invalid_argument("route " + pattern + ": parameters must span a whole segment");
    }
    if (!route->segments.empty() && KindOf(route->segments.back()) == SegmentKind::kTail) {
      throw std::invalid_argument("route " + pattern + ": a {tail...} parameter must be last");
    }
    route->segments.emplace_back(seg);
  }
  // Two patterns that differ only in parameter names would match the same paths.
  auto same_shape = [](const std::vector<std::string>& a, const std::vector<std::string>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (KindOf(a[i]) != KindOf(b[i]) || (KindOf(a[i]) == SegmentKind::kLiteral && a[i] != b[i])) return false;
    }
    return true;
  };
  for (const auto& other : routes_) {
    if (other->info.method == method && same_shape(other->segments, route->segments)) {
      throw std::invalid_argument("duplicate route " + method + " " + pattern);
    }
  }
  if (options.name.empty()) options.name = pattern;
  route->info = RouteInfo{std::move(method), std::move(pattern), std::move(options)};
  route->handler = std::move(handler);
  routes_.push_back(std::move(route));
}

Router::Match Router::Find(std::string_view method, std::string_view path) const {
  Match result;
  if (path.empty() || path.front() != '/') return result;
  const std::vector<std::string_view> parts = Split(path);

  // Among the routes matching the path, the best for this method (HEAD falls back to GET), and
  // the set of methods any matching route allows.
  const Route* best = nullptr;
  const Route* best_get = nullptr;
  std::vector<SegmentKind> best_key, best_get_key, key;
  std::map<std::string, std::string, std::less<>> params, best_params, best_get_params;
  std::vector<std::string> allowed;
  for (const auto& route : routes_) {
    if (!MatchRoute(*route, path, parts, params, key)) continue;
    allowed.push_back(route->info.method);
    if (route->info.method == "GET") allowed.emplace_back("HEAD");
    if (route->info.method == method && (best == nullptr || key < best_key)) {
      best = route.get();
      best_key = key;
      best_params = params;
    }
    if (method == "HEAD" && route->info.method == "GET" && (best_get == nullptr || key < best_get_key)) {
      best_get = route.get();
      best_get_key = key;
      best_get_params = params;
    }
  }
  if (best == nullptr && best_get != nullptr) {
    best = best_get;
    best_params = std::move(best_get_params);
  }
  if (best != nullptr) {
    result.outcome = Outcome::kFound;
    result.route = best;
    result.params = std::move(best_params);
    return result;
  }
  if (!allowed.empty()) {
    std::sort(allowed.begin(), allowed.end());
    allowed.erase(std::unique(allowed.begin(), allowed.end()), allowed.end());
    result.outcome = Outcome::kMethodNotAllowed;
    for (const std::string& m : allowed) {
      if (!result.allow.empty()) result.allow += ", ";
      result.allow += m;
    }
  }
  return result;
}

std::vector<RouteInfo> Router::Routes() const {
  std::vector<RouteInfo> out;
  out.reserve(routes_.size());
  for (const auto& route : routes_) out.push_back(route->info);
  return out;
}

}  // namespace http
