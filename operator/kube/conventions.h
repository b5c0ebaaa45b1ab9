// Kubernetes API conventions the client needs, as pure functions: how a group/version/resource
// (+ namespace, name, subresource) maps to a URL path, query-string encoding, base64 and the two
// time formats (Time, MicroTime). No I/O.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/expected.h"

namespace kube {

// What a REST path is built from. `namespaced` false: a cluster-scoped resource (namespace ignored).
struct GroupVersionResource {
  std::string group;  // "" for the core group
  std::string version;
  std::string resource;  // plural, lower case: "configmaps"
  bool namespaced = true;

  std::string ApiVersion() const { return group.empty() ? version : group + "/" + version; }
};

namespace resources {
inline const GroupVersionResource kConfigMaps{"", "v1", "configmaps"};
inline const GroupVersionResource kSecrets{"", "v1", "secrets"};
inline const GroupVersionResource kPods{"", "v1", "pods"};
inline const GroupVersionResource kServices{"", "v1", "services"};
inline const GroupVersionResource kNamespaces{"", "v1", "namespaces", false};
inline const GroupVersionResource kNodes{"", "v1", "nodes", false};
inline const GroupVersionResource kStatefulSets{"apps", "v1", "statefulsets"};
inline const GroupVersionResource kLeases{"coordination.k8s.io", "v1", "leases"};
inline const GroupVersionResource kEndpointSlices{"discovery.k8s.io", "v1", "endpointslices"};
inline const GroupVersionResource kPodDisruptionBudgets{"policy", "v1", "poddisruptionbudgets"};
inline const GroupVersionResource kIngresses{"networking.k8s.io", "v1", "ingresses"};
inline const GroupVersionResource kNetworkPolicies{"networking.k8s.io", "v1", "networkpolicies"};
inline const GroupVersionResource kEvents{"events.k8s.io", "v1", "events"};
inline const GroupVersionResource kCustomResourceDefinitions{"apiextensions.k8s.io", "v1",
                                                             "customresourcedefinitions", false};
}  // namespace resources

// /api/v1/namespaces/NS/configmaps/NAME/SUB or /apis/GROUP/VERSION/...; empty parts are left out
// (a list across namespaces: namespace ""). Error when a namespace is missing for a namespaced
// object, or a part is not a valid path segment (empty where required, ".", "..", or holding '/',
// '%' or control characters), so bad input never builds a path to something else.
common::Expected<std::string, std::string> ResourcePath(const GroupVersionResource& gvr, std::string_view ns,
                                                        std::string_view name = {},
                                                        std::string_view subresource = {});

using QueryParams = std::vector<std::pair<std::string, std::string>>;
// "?k=v&k2=v2" with RFC 3986 percent-encoding, or "" when there are no parameters.
std::string QueryString(const QueryParams& params);
std::string PercentEncode(std::string_view text);

// Standard base64 (Secret data, kubeconfig *-data fields); line breaks and spaces are ignored.
common::Expected<std::string, std::string> DecodeBase64(std::string_view text);

using WallTime = std::chrono::system_clock::time_point;
// metav1.Time: RFC 3339 in UTC, seconds ("2026-01-02T15:04:05Z").
std::string FormatTime(WallTime t);
// metav1.MicroTime: RFC 3339 in UTC with microseconds ("2026-01-02T15:04:05.123456Z").
std::string FormatMicroTime(WallTime t);
// Parses either form (and any fraction of a second, and a "+hh:mm"/"-hh:mm" offset).
std::optional<WallTime> ParseTime(std::string_view text);

}  // namespace kube
