// The StegoCluster resource (stegocluster.io/v1alpha1) as C++ types: the spec read from JSON with
// the CRD's defaults and limits (crds/stegocluster.yaml is the source of truth for users; these
// types mirror it, and tests/unit/operator/crd_test.cc holds the two equal), the status written
// back. Pure: no API calls.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/expected.h"

namespace stegocluster {

using Json = nlohmann::json;
using StringMap = std::map<std::string, std::string>;

inline constexpr std::string_view kGroup = "stegocluster.io";
inline constexpr std::string_view kVersion = "v1alpha1";
inline constexpr std::string_view kKind = "StegoCluster";
inline constexpr std::string_view kPlural = "stegoclusters";

// Limits per client of every worker (its --client-* flags, docs/security.md): a client is each
// source address and each API key.
struct ClientLimitsSpec {
  int concurrent_requests = 64;  // requests in progress at once; 0: no limit
  int requests_per_second = 0;   // on average, beyond it 429 with Retry-After; 0: no limit
  int burst = 0;                 // requests at once under the rate; 0: the rate, at least 1
  int connections = 128;         // open connections per source address; 0: no limit
};

struct WorkerSpec {
  int default_lsb_bits = 1;
  std::int64_t max_upload_bytes = 32ll << 20;
  std::int64_t max_pixels = 40'000'000;
  int threads = 0;  // one per CPU
  std::string log_format = "json";
  std::string log_level = "info";
  ClientLimitsSpec client_limits{};
  // Addresses or CIDR blocks of the reverse proxies in front of the workers (the Ingress
  // controller's pods): a request through one counts against the client its X-Forwarded-For names.
  std::vector<std::string> trusted_proxies{};
};

struct RaftSpec {
  int heartbeat_millis = 50;
  int election_timeout_millis = 150;
};

struct StorageSpec {
  std::string type = "EmptyDir";  // or PersistentVolumeClaim
  std::string size = "1Gi";
  std::optional<std::string> storage_class_name{};
};

struct PodOverrides {
  StringMap labels{};
  StringMap annotations{};
  StringMap node_selector{};
  Json tolerations = Json::array();                  // core/v1 Toleration[], passed through
  std::optional<Json> affinity{};                      // core/v1 Affinity, passed through
  Json topology_spread_constraints = Json::array();  // core/v1 TopologySpreadConstraint[]
  std::optional<std::string> priority_class_name{};
  Json env = Json::array();  // core/v1 EnvVar[]
  std::int64_t termination_grace_period_seconds = 30;
};

struct ServicesSpec {
  std::string type = "ClusterIP";
  StringMap annotations{};
};

struct IngressSpec {
  bool enabled = false;
  std::optional<std::string> class_name{};
  std::optional<std::string> host{};
  std::string path = "/";
  std::optional<std::string> tls_secret_name{};
  StringMap annotations{};
};

struct StegoClusterSpec {
  int replicas = 3;
  std::string image = "localhost/stego-worker:0.1.0";
  std::string image_pull_policy = "IfNotPresent";
  std::optional<Json> resources{};  // core/v1 ResourceRequirements {requests, limits}
  WorkerSpec worker{};
  RaftSpec raft{};
  StorageSpec storage{};
  PodOverrides pod{};
  ServicesSpec services{};
  IngressSpec ingress{};
  bool pod_disruption_budget = true;
  std::optional<std::string> auth_secret_name{};
  // spec.tls.peer: mutual TLS on the members' peer port, from a CA the operator makes
  // (controller/peer_tls.h). Off: plain HTTP, the cluster secret in clear on the pod network.
  bool peer_tls = false;
  bool paused = false;
};

// The spec in `j` (a StegoCluster's .spec; absent fields take the CRD's defaults), or what is
// wrong with it, naming the field ("spec.worker.defaultLsbBits: must be an integer in [1, 4]").
// Checks what the CRD's schema and its CEL rules on a single object check; the rules about changes
// (an immutable storage class) need the old object and are the API server's.
common::Expected<StegoClusterSpec, std::string> SpecFromJson(const Json& j);
// Every field, defaults included, in the CRD's names; optional fields only when set.
Json SpecToJson(const StegoClusterSpec& spec);

struct MemberStatus {
  std::string name{};  // the pod
  std::uint64_t raft_id = 0;
  std::string role{};  // Leader, Follower, Learner, Unknown
  bool ready = false;
  std::uint64_t applied_index = 0;
  std::uint64_t lag = 0;
  bool operator==(const MemberStatus&) const = default;
};

// metav1.Condition.
struct Condition {
  std::string type{};
  std::string status{};  // "True", "False", "Unknown"
  std::int64_t observed_generation = 0;
  std::string last_transition_time{};  // RFC 3339
  std::string reason{};
  std::string message{};
  bool operator==(const Condition&) const = default;
};

struct StegoClusterStatus {
  std::int64_t observed_generation = 0;
  int replicas = 0;
  int ready_replicas = 0;
  int updated_replicas = 0;
  std::string selector{};
  std::string leader{};
  std::string target_leader{};  // the member the operator is handing leadership to, if any
  std::uint64_t term = 0;
  std::string last_leader_transition_time{};
  std::vector<MemberStatus> members{};
  std::vector<Condition> conditions{};
  bool operator==(const StegoClusterStatus&) const = default;
};

Json StatusToJson(const StegoClusterStatus& status);
// Lenient: what a status written by this or an older operator holds; unknown fields are ignored.
StegoClusterStatus StatusFromJson(const Json& j);

}  // namespace stegocluster
