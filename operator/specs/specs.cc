#include "operator/specs/specs.h"

#include <algorithm>
#include <string>
#include <tuple>

#include "common/base64.h"

namespace stegocluster::specs {
namespace {

constexpr char kDataDir[] = "/var/lib/stego";
constexpr char kWorkerBinary[] = "/usr/local/bin/stego-worker";  // the image's entrypoint (images/worker.Dockerfile)
constexpr char kSecretKey[] = "cluster-secret";
constexpr char kAdminKey[] = "admin-key";

Json Metadata(const Cluster& c, const std::string& name) {
  return {{"name", name},
          {"namespace", c.ns},
          {"labels", Labels(c)},
          {"ownerReferences",
           Json::array({{{"apiVersion", std::string(kGroup) + "/" + std::string(kVersion)},
                         {"kind", kKind},
                         {"name", c.name},
                         {"uid", c.uid},
                         {"controller", true},
                         {"blockOwnerDeletion", true}}})}};
}

Json Ports() {
  return Json::array({{{"name", "http"}, {"port", kHttpPort}, {"targetPort", "http"}},
                      {{"name", "peer"}, {"port", kPeerPort}, {"targetPort", "peer"}}});
}

// `for_clients`: a Service clients reach (the spec's type and annotations apply), not the peers'.
Json Service(const Cluster& c, const std::string& name, Json spec, bool for_clients) {
  Json meta = Metadata(c, name);
  if (for_clients) {
    spec["type"] = c.spec.services.type;
    if (!c.spec.services.annotations.empty()) meta["annotations"] = c.spec.services.annotations;
  }
  return {{"apiVersion", "v1"}, {"kind", "Service"}, {"metadata", std::move(meta)}, {"spec", std::move(spec)}};
}

Json FromSecret(const Cluster& c, const char* env, const char* key) {
  return {{"name", env}, {"valueFrom", {{"secretKeyRef", {{"name", AuthSecretName(c)}, {"key", key}}}}}};
}

// A Secret's `data`: every value base64, as the API server keeps it (so that a replacement with
// Update compares equal to what was read).
Json SecretData(std::initializer_list<std::pair<const char*, const std::string*>> entries) {
  Json data = Json::object();
  for (const auto& [key, value] : entries) {
    std::string encoded;
    common::AppendBase64(encoded, {reinterpret_cast<const std::uint8_t*>(value->data()), value->size()});
    data[key] = std::move(encoded);
  }
  return data;
}

Json FromField(const char* env, const char* path) {
  return {{"name", env}, {"valueFrom", {{"fieldRef", {{"fieldPath", path}}}}}};
}

Json Probe(const char* path, int period_seconds, int failures) {
  return {{"httpGet", {{"path", path}, {"port", "http"}}}, {"periodSeconds", period_seconds},
          {"failureThreshold", failures}, {"timeoutSeconds", 2}};
}

// The preStop hook's drain window: a quarter of the grace period, at most 5 s. With the handover
// call's own bound (5 s) the hook stays inside half of the default 30 s grace period, leaving the
// rest for in-flight requests after SIGTERM.
std::int64_t DrainMillis(const Cluster& c) {
  return std::min<std::int64_t>(5000, c.spec.pod.termination_grace_period_seconds * 1000 / 4);
}

Json Container(const Cluster& c) {
  const StegoClusterSpec& s = c.spec;
  // Flags from the spec; the secrets come from the environment (STEGO_*), never in argv.
  // Bound to the pod's own address. (Not 0.0.0.0: on a node where pods share a network namespace,
  // as on the test ground's pod runner, every member would then claim the same port. The cost:
  // `kubectl port-forward`, which connects to the pod's loopback, does not reach the worker; go
  // through a Service or the pod IP.)
  // Advertised as the pod's stable DNS name <pod>.<name>-peers.<ns>.svc (the StatefulSet's
  // headless Service), never its IP: the members keep each other's addresses in the replicated
  // membership, and a pod deleted and recreated on its volume comes back as the same member with a
  // new IP, which the others then reach through that name.
  // The API address and the drain window are in the environment, not argv: the preStop hook
  // (`stego-worker --pre-stop`, below) runs with the container's environment but not its args.
  Json args = Json::array({"--node-id=$(POD_NAME)", "--peer=$(POD_IP):" + std::to_string(kPeerPort),
                           "--advertise=$(POD_NAME)." + c.name + "-peers." + c.ns + ".svc",
                           // Namespace-qualified: the pod's DNS search list completes it with the
                           // cluster domain, whatever that domain is.
                           "--peers-dns=" + c.name + "-peers." + c.ns + ".svc:" + std::to_string(kPeerPort),
                           std::string("--data-dir=") + kDataDir,
                           "--max-upload-bytes=" + std::to_string(s.worker.max_upload_bytes),
                           "--max-pixels=" + std::to_string(s.worker.max_pixels),
                           "--threads=" + std::to_string(s.worker.threads),
                           "--raft-heartbeat-ms=" + std::to_string(s.raft.heartbeat_millis),
                           "--raft-election-timeout-ms=" + std::to_string(s.raft.election_timeout_millis),
                           "--log-format=" + s.worker.log_format,
                           "--log-level=" + s.worker.log_level});
  // Only the limits that differ from the defaults (the worker's own, which the CRD's repeat): a
  // cluster that sets none keeps the pod template it had before these fields, so upgrading the
  // operator restarts no worker.
  const ClientLimitsSpec& limits = s.worker.client_limits;
  const ClientLimitsSpec defaults;
  for (const auto& [flag, value, default_value] :
       {std::tuple{"--client-concurrency=", limits.concurrent_requests, defaults.concurrent_requests},
        std::tuple{"--client-rate=", limits.requests_per_second, defaults.requests_per_second},
        std::tuple{"--client-burst=", limits.burst, defaults.burst},
        std::tuple{"--client-connections=", limits.connections, defaults.connections}}) {
    if (value != default_value) args.push_back(flag + std::to_string(value));
  }
  if (!s.worker.trusted_proxies.empty()) {
    std::string proxies;
    for (const std::string& p : s.worker.trusted_proxies) proxies += (proxies.empty() ? "" : ",") + p;
    args.push_back("--trusted-proxies=" + proxies);
  }
  if (s.peer_tls) {
    // The files of the mounted <name>-peer-tls; the worker reloads them when the kubelet
    // updates the Secret (a renewed certificate), without a restart.
    for (const auto& [flag, file] : {std::pair{"--peer-tls-cert=", "/tls.crt"}, std::pair{"--peer-tls-key=", "/tls.key"},
                                     std::pair{"--peer-tls-ca=", "/ca.crt"}}) {
      args.push_back(std::string(flag) + kPeerTlsDir + file);
    }
  }
  Json env = Json::array({FromField("POD_NAME", "metadata.name"), FromField("POD_IP", "status.podIP"),
                          {{"name", "STEGO_HTTP"}, {"value", "$(POD_IP):" + std::to_string(kHttpPort)}},
                          {{"name", "STEGO_DRAIN_MS"}, {"value", std::to_string(DrainMillis(c))}},
                          FromSecret(c, "STEGO_CLUSTER_SECRET", kSecretKey),
                          FromSecret(c, "STEGO_ADMIN_KEY", kAdminKey)});
  for (const Json& var : s.pod.env) env.push_back(var);
  Json container = {
      {"name", "worker"},
      {"image", s.image},
      {"imagePullPolicy", s.image_pull_policy},
      {"args", std::move(args)},
      {"env", std::move(env)},
      {"ports", Json::array({{{"name", "http"}, {"containerPort", kHttpPort}},
                             {{"name", "peer"}, {"containerPort", kPeerPort}}})},
      // Ready once it knows a leader and has applied what is committed; alive while it serves.
      {"readinessProbe", Probe("/readyz", 2, 2)},
      // Before SIGTERM, for every deletion (a rollout, a scale-in, an eviction by a drain): hand
      // leadership over, turn unready, keep serving while the endpoints catch up (pre_stop.h).
      {"lifecycle", {{"preStop", {{"exec", {{"command", Json::array({kWorkerBinary, "--pre-stop"})}}}}}}},
      {"livenessProbe", Probe("/healthz", 10, 6)},
      {"volumeMounts", Json::array({{{"name", "data"}, {"mountPath", kDataDir}}})},
      {"securityContext",
       {{"runAsNonRoot", true},
        {"readOnlyRootFilesystem", true},
        {"allowPrivilegeEscalation", false},
        {"capabilities", {{"drop", Json::array({"ALL"})}}}}},
  };
  if (s.resources) container["resources"] = *s.resources;
  if (s.peer_tls) {
    container["volumeMounts"].push_back({{"name", "peer-tls"}, {"mountPath", kPeerTlsDir}, {"readOnly", true}});
  }
  return container;
}

Json PodSpec(const Cluster& c) {
  const PodOverrides& p = c.spec.pod;
  Json pod = {
      {"containers", Json::array({Container(c)})},
      // Workers never talk to Kubernetes.
      {"automountServiceAccountToken", false},
      {"enableServiceLinks", false},
      {"terminationGracePeriodSeconds", p.termination_grace_period_seconds},
      {"securityContext",
       {{"runAsNonRoot", true}, {"runAsUser", 65532}, {"runAsGroup", 65532}, {"fsGroup", 65532},
        {"seccompProfile", {{"type", "RuntimeDefault"}}}}},
  };
  if (c.spec.storage.type == "EmptyDir") {
    pod["volumes"] = Json::array({{{"name", "data"}, {"emptyDir", {{"sizeLimit", c.spec.storage.size}}}}});
  }
  if (c.spec.peer_tls) {
    // Readable by the worker's group (fsGroup) only.
    pod["volumes"].push_back(
        {{"name", "peer-tls"}, {"secret", {{"secretName", PeerTlsSecretName(c)}, {"defaultMode", 0440}}}});
  }
  if (!p.node_selector.empty()) pod["nodeSelector"] = p.node_selector;
  if (!p.tolerations.empty()) pod["tolerations"] = p.tolerations;
  if (p.affinity) pod["affinity"] = *p.affinity;
  if (!p.topology_spread_constraints.empty()) pod["topologySpreadConstraints"] = p.topology_spread_constraints;
  if (p.priority_class_name) pod["priorityClassName"] = *p.priority_class_name;
  return pod;
}

}  // namespace

Json Labels(const Cluster& c) {
  return {{"app.kubernetes.io/name", "stego-worker"},
          {"app.kubernetes.io/instance", c.name},
          {"app.kubernetes.io/managed-by", "stego-operator"},
          {kClusterLabel, c.name}};
}

Json Selector(const Cluster& c) { return {{kClusterLabel, c.name}}; }

std::string SelectorString(const Cluster& c) { return std::string(kClusterLabel) + "=" + c.name; }

int Quorum(int replicas) { return replicas / 2 + 1; }

std::string AuthSecretName(const Cluster& c) { return c.spec.auth_secret_name.value_or(c.name + "-auth"); }

Json ClientService(const Cluster& c) {
  return Service(c, c.name, {{"selector", Selector(c)}, {"ports", Ports()}}, /*for_clients=*/true);
}

Json PeersService(const Cluster& c) {
  // Members find each other before they are ready (a cluster forms only once they do).
  return Service(c, c.name + "-peers",
                 {{"clusterIP", "None"}, {"publishNotReadyAddresses", true}, {"selector", Selector(c)}, {"ports", Ports()}},
                 /*for_clients=*/false);
}

Json LeaderService(const Cluster& c) {
  Json selector = Selector(c);
  selector[kRoleLabel] = "leader";
  return Service(c, c.name + "-leader", {{"selector", std::move(selector)}, {"ports", Ports()}}, /*for_clients=*/true);
}

Json StatefulSet(const Cluster& c, std::optional<int> replicas) {
  Json pod_labels = Labels(c);
  for (const auto& [k, v] : c.spec.pod.labels) pod_labels[k] = v;
  Json template_meta = {{"labels", std::move(pod_labels)}};
  if (!c.spec.pod.annotations.empty()) template_meta["annotations"] = c.spec.pod.annotations;
  if (!c.restarted_at.empty()) template_meta["annotations"]["stegocluster.io/restartedAt"] = c.restarted_at;
  Json spec = {
      {"replicas", replicas.value_or(c.spec.replicas)},
      {"serviceName", c.name + "-peers"},
      {"selector", {{"matchLabels", Selector(c)}}},
      // Parallel: readiness needs a quorum, so OrderedReady could wait forever for pod 0.
      {"podManagementPolicy", "Parallel"},
      // The operator decides who restarts and when (leader last, after a transfer).
      {"updateStrategy", {{"type", "OnDelete"}}},
      {"template", {{"metadata", std::move(template_meta)}, {"spec", PodSpec(c)}}},
  };
  if (c.spec.storage.type == "PersistentVolumeClaim") {
    Json claim_spec = {{"accessModes", Json::array({"ReadWriteOnce"})},
                       {"resources", {{"requests", {{"storage", c.spec.storage.size}}}}}};
    if (c.spec.storage.storage_class_name) claim_spec["storageClassName"] = *c.spec.storage.storage_class_name;
    spec["volumeClaimTemplates"] = Json::array({{{"metadata", {{"name", "data"}}}, {"spec", std::move(claim_spec)}}});
    // Deleting the cluster deletes its data with it. Scaling in deletes the claim of the member that
    // goes: the operator has removed it from the Raft configuration first, so its log is of no use,
    // and an ordinal that comes back must join under a new identity, from an empty volume.
    spec["persistentVolumeClaimRetentionPolicy"] = {{"whenDeleted", "Delete"}, {"whenScaled", "Delete"}};
  }
  return {{"apiVersion", "apps/v1"}, {"kind", "StatefulSet"}, {"metadata", Metadata(c, c.name)}, {"spec", std::move(spec)}};
}

Json AuthSecret(const Cluster& c, const std::string& cluster_secret, const std::string& admin_key) {
  return {{"apiVersion", "v1"},
          {"kind", "Secret"},
          {"metadata", Metadata(c, c.name + "-auth")},
          {"type", "Opaque"},
          {"stringData", {{kSecretKey, cluster_secret}, {kAdminKey, admin_key}}}};
}

std::string PeerCaSecretName(const Cluster& c) { return c.name + "-peer-ca"; }
std::string PeerTlsSecretName(const Cluster& c) { return c.name + "-peer-tls"; }

Json PeerCaSecret(const Cluster& c, const std::string& ca_cert_pem, const std::string& ca_key_pem) {
  return {{"apiVersion", "v1"},
          {"kind", "Secret"},
          {"metadata", Metadata(c, PeerCaSecretName(c))},
          {"type", "Opaque"},
          {"data", SecretData({{"ca.crt", &ca_cert_pem}, {"ca.key", &ca_key_pem}})}};
}

Json PeerTlsSecret(const Cluster& c, const std::string& ca_cert_pem, const std::string& cert_pem,
                   const std::string& key_pem) {
  return {{"apiVersion", "v1"},
          {"kind", "Secret"},
          {"metadata", Metadata(c, PeerTlsSecretName(c))},
          {"type", "kubernetes.io/tls"},
          {"data", SecretData({{"ca.crt", &ca_cert_pem}, {"tls.crt", &cert_pem}, {"tls.key", &key_pem}})}};
}

Json PodDisruptionBudget(const Cluster& c) {
  // A voluntary disruption may take only what leaves a quorum: with 1 or 2 members, nothing.
  const int may_go = c.spec.replicas - Quorum(c.spec.replicas);
  return {{"apiVersion", "policy/v1"},
          {"kind", "PodDisruptionBudget"},
          {"metadata", Metadata(c, c.name)},
          {"spec", {{"maxUnavailable", may_go}, {"selector", {{"matchLabels", Selector(c)}}}}}};
}

Json Ingress(const Cluster& c) {
  const IngressSpec& i = c.spec.ingress;
  Json meta = Metadata(c, c.name);
  if (!i.annotations.empty()) meta["annotations"] = i.annotations;
  Json path = {{"path", i.path},
               {"pathType", "Prefix"},
               {"backend", {{"service", {{"name", c.name + "-leader"}, {"port", {{"name", "http"}}}}}}}};
  Json spec = {{"rules", Json::array({{{"host", i.host.value_or("")}, {"http", {{"paths", Json::array({path})}}}}})}};
  if (i.class_name) spec["ingressClassName"] = *i.class_name;
  if (i.tls_secret_name) {
    spec["tls"] = Json::array({{{"hosts", Json::array({i.host.value_or("")})}, {"secretName", *i.tls_secret_name}}});
  }
  return {{"apiVersion", "networking.k8s.io/v1"}, {"kind", "Ingress"}, {"metadata", std::move(meta)}, {"spec", std::move(spec)}};
}

Json NetworkPolicy(const Cluster& c) {
  return {{"apiVersion", "networking.k8s.io/v1"},
          {"kind", "NetworkPolicy"},
          {"metadata", Metadata(c, c.name + "-peers")},
          {"spec",
           {{"podSelector", {{"matchLabels", Selector(c)}}},
            {"policyTypes", Json::array({"Ingress"})},
            {"ingress",
             Json::array({// the API: from anywhere (the Ingress controller, clients)
                          {{"ports", Json::array({{{"port", kHttpPort}, {"protocol", "TCP"}}})}},
                          // the peer port: from the cluster's own members only
                          {{"from", Json::array({{{"podSelector", {{"matchLabels", Selector(c)}}}}})},
                           {"ports", Json::array({{{"port", kPeerPort}, {"protocol", "TCP"}}})}}})}}}};
}

}  // namespace stegocluster::specs
