#include "operator/api/stego_cluster.h"

#include <algorithm>
#include <initializer_list>
#include <utility>

#include "common/ip_network.h"

namespace stegocluster {
namespace {

// Reads one object's fields into C++ values, keeping the first problem with its path. An absent
// (or null) field leaves the default in place.
class Reader {
 public:
  Reader(const Json& object, std::string path, std::string& error)
      : object_(object.is_object() ? object : Empty()), path_(std::move(path)), error_(error) {
    if (!object.is_null() && !object.is_object()) Fail("", "must be an object");
  }

  Reader Object(const char* key) { return Reader(Field(key), path_ + "." + key, error_); }

  template <class Int>
  void Integer(const char* key, Int& out, std::int64_t min, std::int64_t max) {
    const Json& v = Field(key);
    if (v.is_null()) return;
    if (!v.is_number_integer() || v.get<std::int64_t>() < min || v.get<std::int64_t>() > max) {
      return Fail(key, "must be an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
    }
    out = static_cast<Int>(v.get<std::int64_t>());
  }
  void Bool(const char* key, bool& out) {
    const Json& v = Field(key);
    if (v.is_null()) return;
    if (!v.is_boolean()) return Fail(key, "must be true or false");
    out = v.get<bool>();
  }
  void String(const char* key, std::string& out, std::initializer_list<std::string_view> allowed = {}) {
    std::optional<std::string> read;
    OptionalString(key, read);
    if (!read) return;
    if (allowed.size() > 0 && std::find(allowed.begin(), allowed.end(), *read) == allowed.end()) {
      std::string list;
      for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      return Fail(key, "must be one of " + list);
    }
    out = std::move(*read);
  }
  void OptionalString(const char* key, std::optional<std::string>& out) {
    const Json& v = Field(key);
    if (v.is_null()) return;
    if (!v.is_string()) return Fail(key, "must be a string");
    out = v.get<std::string>();
  }
  // An array of at most `max_items` strings, each of which `valid` accepts (else `why`).
  template <class Valid>
  void StringList(const char* key, std::vector<std::string>& out, std::size_t max_items, Valid valid, const char* why) {
    const Json& v = Field(key);
    if (v.is_null()) return;
    if (!v.is_array() || v.size() > max_items) {
      return Fail(key, "must be an array of at most " + std::to_string(max_items) + " strings");
    }
    std::vector<std::string> read;
    for (const Json& item : v) {
      if (!item.is_string() || !valid(item.get<std::string>())) return Fail(key, why);
      read.push_back(item.get<std::string>());
    }
    out = std::move(read);
  }
  void Map(const char* key, StringMap& out) {
    const Json& v = Field(key);
    if (v.is_null()) return;
    if (!v.is_object()) return Fail(key, "must be an object of strings");
    for (const auto& [k, value] : v.items()) {
      if (!value.is_string()) return Fail(key, "must be an object of strings");
      out[k] = value.get<std::string>();
    }
  }
  // A core/v1 value passed through as it is, checked only for its JSON type.
  void Raw(const char* key, Json& out, Json::value_t type) {
    const Json& v = Field(key);
    if (v.is_null()) return;
    if (v.type() != type) return Fail(key, type == Json::value_t::array ? "must be an array" : "must be an object");
    out = v;
  }
  void OptionalRaw(const char* key, std::optional<Json>& out, Json::value_t type) {
    Json read;
    Raw(key, read, type);
    if (!read.is_null()) out = std::move(read);
  }
  void Fail(std::string_view key, const std::string& why) {
    if (error_.empty()) error_ = path_ + (key.empty() ? "" : "." + std::string(key)) + ": " + why;
  }

 private:
  static const Json& Empty() {
    static const Json empty = Json::object();
    return empty;
  }
  const Json& Field(const char* key) const {
    const auto it = object_.find(key);
    return it == object_.end() ? Null() : *it;
  }
  static const Json& Null() {
    static const Json null;
    return null;
  }

  const Json& object_;
  std::string path_;
  std::string& error_;
};

void ReadWorker(Reader r, WorkerSpec& w) {
  r.Integer("defaultLsbBits", w.default_lsb_bits, 1, 4);
  r.Integer("maxUploadBytes", w.max_upload_bytes, 1024, 1ll << 30);
  r.Integer("maxPixels", w.max_pixels, 64, 400'000'000);
  r.Integer("threads", w.threads, 0, 256);
  r.String("logFormat", w.log_format, {"json", "text"});
  r.String("logLevel", w.log_level, {"trace", "debug", "info", "warn", "error"});
  Reader limits = r.Object("clientLimits");
  limits.Integer("concurrentRequests", w.client_limits.concurrent_requests, 0, 100'000);
  limits.Integer("requestsPerSecond", w.client_limits.requests_per_second, 0, 1'000'000);
  limits.Integer("burst", w.client_limits.burst, 0, 1'000'000);
  limits.Integer("connections", w.client_limits.connections, 0, 100'000);
  r.StringList("trustedProxies", w.trusted_proxies, 64,
               [](const std::string& entry) { return common::ParseIpNetwork(entry).has_value(); },
               "every entry must be an IP address or CIDR block");
}

void ReadRaft(Reader r, RaftSpec& raft) {
  r.Integer("heartbeatMillis", raft.heartbeat_millis, 10, 1000);
  r.Integer("electionTimeoutMillis", raft.election_timeout_millis, 30, 10'000);
  if (raft.election_timeout_millis < 3 * raft.heartbeat_millis) {
    r.Fail("", "electionTimeoutMillis must be at least three heartbeats");
  }
}

// A Kubernetes quantity as the CRD takes it: digits, an optional fraction and a suffix.
bool IsQuantity(std::string_view q) {
  static constexpr std::string_view kSuffixes[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "k", "M", "G", "T", "P", "E", "m"};
  std::size_t digits = 0;
  while (digits < q.size() && ((q[digits] >= '0' && q[digits] <= '9') || q[digits] == '.')) ++digits;
  if (digits == 0) return false;
  return std::find(std::begin(kSuffixes), std::end(kSuffixes), q.substr(digits)) != std::end(kSuffixes);
}

void ReadStorage(Reader r, StorageSpec& s) {
  r.String("type", s.type, {"EmptyDir", "PersistentVolumeClaim"});
  r.String("size", s.size);
  if (!IsQuantity(s.size)) r.Fail("size", "size must be a quantity such as 1Gi");
  r.OptionalString("storageClassName", s.storage_class_name);
}

void ReadPod(Reader r, PodOverrides& p) {
  r.Map("labels", p.labels);
  r.Map("annotations", p.annotations);
  r.Map("nodeSelector", p.node_selector);
  r.Raw("tolerations", p.tolerations, Json::value_t::array);
  r.OptionalRaw("affinity", p.affinity, Json::value_t::object);
  r.Raw("topologySpreadConstraints", p.topology_spread_constraints, Json::value_t::array);
  r.OptionalString("priorityClassName", p.priority_class_name);
  r.Raw("env", p.env, Json::value_t::array);
  for (const Json& var : p.env) {
    if (!var.is_object() || !var.contains("name") || !var["name"].is_string()) r.Fail("env", "every item needs a name");
  }
  r.Integer("terminationGracePeriodSeconds", p.termination_grace_period_seconds, 1, 3600);
}

void ReadIngress(Reader r, IngressSpec& i) {
  r.Bool("enabled", i.enabled);
  r.OptionalString("className", i.class_name);
  r.OptionalString("host", i.host);
  r.String("path", i.path);
  if (i.path.empty() || i.path.front() != '/') r.Fail("path", "must start with /");
  r.OptionalString("tlsSecretName", i.tls_secret_name);
  r.Map("annotations", i.annotations);
  if (i.enabled && i.host.value_or("").empty()) r.Fail("", "ingress.host is required when the ingress is enabled");
}

template <class T>
void PutOptional(Json& j, const char* key, const std::optional<T>& value) {
  if (value) j[key] = *value;
}

}  // namespace

common::Expected<StegoClusterSpec, std::string> SpecFromJson(const Json& j) {
  StegoClusterSpec spec;
  std::string error;
  Reader r(j, "spec", error);
  r.Integer("replicas", spec.replicas, 1, 9);
  r.String("image", spec.image);
  if (spec.image.empty()) r.Fail("image", "must not be empty");
  r.String("imagePullPolicy", spec.image_pull_policy, {"Always", "IfNotPresent", "Never"});
  r.OptionalRaw("resources", spec.resources, Json::value_t::object);
  ReadWorker(r.Object("worker"), spec.worker);
  ReadRaft(r.Object("raft"), spec.raft);
  ReadStorage(r.Object("storage"), spec.storage);
  ReadPod(r.Object("pod"), spec.pod);
  Reader services = r.Object("services");
  services.String("type", spec.services.type, {"ClusterIP", "NodePort", "LoadBalancer"});
  services.Map("annotations", spec.services.annotations);
  ReadIngress(r.Object("ingress"), spec.ingress);
  r.Object("podDisruptionBudget").Bool("enabled", spec.pod_disruption_budget);
  r.Object("auth").OptionalString("secretName", spec.auth_secret_name);
  r.Object("tls").Bool("peer", spec.peer_tls);
  r.Bool("paused", spec.paused);
  if (!error.empty()) return common::Unexpected{std::move(error)};
  return spec;
}

Json SpecToJson(const StegoClusterSpec& s) {
  Json storage = {{"type", s.storage.type}, {"size", s.storage.size}};
  PutOptional(storage, "storageClassName", s.storage.storage_class_name);
  Json pod = {{"labels", s.pod.labels},
              {"annotations", s.pod.annotations},
              {"nodeSelector", s.pod.node_selector},
              {"tolerations", s.pod.tolerations},
              {"topologySpreadConstraints", s.pod.topology_spread_constraints},
              {"env", s.pod.env},
              {"terminationGracePeriodSeconds", s.pod.termination_grace_period_seconds}};
  PutOptional(pod, "affinity", s.pod.affinity);
  PutOptional(pod, "priorityClassName", s.pod.priority_class_name);
  Json ingress = {{"enabled", s.ingress.enabled}, {"path", s.ingress.path}, {"annotations", s.ingress.annotations}};
  PutOptional(ingress, "className", s.ingress.class_name);
  PutOptional(ingress, "host", s.ingress.host);
  PutOptional(ingress, "tlsSecretName", s.ingress.tls_secret_name);
  Json auth = Json::object();
  PutOptional(auth, "secretName", s.auth_secret_name);
  Json spec = {
      {"replicas", s.replicas},
      {"image", s.image},
      {"imagePullPolicy", s.image_pull_policy},
      {"worker",
       {{"defaultLsbBits", s.worker.default_lsb_bits},
        {"maxUploadBytes", s.worker.max_upload_bytes},
        {"maxPixels", s.worker.max_pixels},
        {"threads", s.worker.threads},
        {"logFormat", s.worker.log_format},
        {"logLevel", s.worker.log_level},
        {"clientLimits",
         {{"concurrentRequests", s.worker.client_limits.concurrent_requests},
          {"requestsPerSecond", s.worker.client_limits.requests_per_second},
          {"burst", s.worker.client_limits.burst},
          {"connections", s.worker.client_limits.connections}}},
        {"trustedProxies", s.worker.trusted_proxies}}},
      {"raft", {{"heartbeatMillis", s.raft.heartbeat_millis}, {"electionTimeoutMillis", s.raft.election_timeout_millis}}},
      {"storage", std::move(storage)},
      {"pod", std::move(pod)},
      {"services", {{"type", s.services.type}, {"annotations", s.services.annotations}}},
      {"ingress", std::move(ingress)},
      {"podDisruptionBudget", {{"enabled", s.pod_disruption_budget}}},
      {"auth", std::move(auth)},
      {"tls", {{"peer", s.peer_tls}}},
      {"paused", s.paused},
  };
  PutOptional(spec, "resources", s.resources);
  return spec;
}

Json StatusToJson(const StegoClusterStatus& s) {
  Json members = Json::array();
  for (const MemberStatus& m : s.members) {
    members.push_back({{"name", m.name}, {"raftId", m.raft_id}, {"role", m.role}, {"ready", m.ready},
                       {"appliedIndex", m.applied_index}, {"lag", m.lag}});
  }
  Json conditions = Json::array();
  for (const Condition& c : s.conditions) {
    conditions.push_back({{"type", c.type}, {"status", c.status}, {"observedGeneration", c.observed_generation},
                          {"lastTransitionTime", c.last_transition_time}, {"reason", c.reason},
                          {"message", c.message}});
  }
  Json j = {{"observedGeneration", s.observed_generation}, {"replicas", s.replicas},
            {"readyReplicas", s.ready_replicas}, {"updatedReplicas", s.updated_replicas},
            {"selector", s.selector}, {"members", std::move(members)}, {"conditions", std::move(conditions)}};
  if (!s.leader.empty()) j["leader"] = s.leader;
  if (!s.target_leader.empty()) j["targetLeader"] = s.target_leader;
  if (s.term > 0) j["term"] = s.term;
  if (!s.last_leader_transition_time.empty()) j["lastLeaderTransitionTime"] = s.last_leader_transition_time;
  return j;
}

StegoClusterStatus StatusFromJson(const Json& j) {
  StegoClusterStatus s;
  if (!j.is_object()) return s;
  s.observed_generation = j.value("observedGeneration", std::int64_t{0});
  s.replicas = j.value("replicas", 0);
  s.ready_replicas = j.value("readyReplicas", 0);
  s.updated_replicas = j.value("updatedReplicas", 0);
  s.selector = j.value("selector", "");
  s.leader = j.value("leader", "");
  s.target_leader = j.value("targetLeader", "");
  s.term = j.value("term", std::uint64_t{0});
  s.last_leader_transition_time = j.value("lastLeaderTransitionTime", "");
  for (const Json& m : j.value("members", Json::array())) {
    if (!m.is_object()) continue;
    s.members.push_back({m.value("name", ""), m.value("raftId", std::uint64_t{0}), m.value("role", ""),
                         m.value("ready", false), m.value("appliedIndex", std::uint64_t{0}),
                         m.value("lag", std::uint64_t{0})});
  }
  for (const Json& c : j.value("conditions", Json::array())) {
    if (!c.is_object()) continue;
    s.conditions.push_back({c.value("type", ""), c.value("status", ""), c.value("observedGeneration", std::int64_t{0}),
                            c.value("lastTransitionTime", ""), c.value("reason", ""), c.value("message", "")});
  }
  return s;
}

}  // namespace stegocluster
