#include "operator/controller/reconciler.h"

#include <algorithm>
#include <thread>

#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include "operator/controller/drift.h"
#include "operator/controller/peer_tls.h"
#include "operator/controller/roles.h"
#include "operator/members/admin.h"
#include "operator/members/raft_view.h"
#include "operator/members/settings.h"

namespace stegocluster::controller {
namespace {

using kube::EventType;
namespace res = kube::resources;

// 32 random bytes as hex: the generated cluster secret and admin key.
std::string RandomToken() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

std::string Label(const Json& object, const std::string& key) {
  return object["metadata"].value("labels", Json::object()).value(key, "");
}

bool PodReady(const Json& pod) {
  for (const Json& c : pod.value("status", Json::object()).value("conditions", Json::array())) {
    if (c.value("type", "") == "Ready") return c.value("status", "") == "True";
  }
  return false;
}

// A StatefulSet pod's ordinal ("demo-10" → 10), for ordering members as people count them.
long Ordinal(const Json& pod) {
  const std::string name = pod["metadata"].value("name", "");
  const auto dash = name.rfind('-');
  return dash == std::string::npos ? -1 : std::strtol(name.c_str() + dash + 1, nullptr, 10);
}

// The Secret must hold both keys; answers the admin key.
Blocker ReadAdminKey(const Json& secret, std::string& admin_key) {
  const std::string name = secret["metadata"].value("name", "");
  const Json data = secret.value("data", Json::object());
  for (const char* key : {"cluster-secret", "admin-key"}) {
    if (!data.contains(key)) return {"AuthSecretMissing", "Secret " + name + " has no key " + key};
  }
  auto decoded = kube::DecodeBase64(data["admin-key"].get<std::string>());
  if (!decoded) return {"AuthSecretMissing", "Secret " + name + ": admin-key is not base64"};
  admin_key = *decoded;
  return {};
}

// The PEM text under each key of a Secret's data; nullopt when one is missing or not base64.
std::optional<std::vector<std::string>> SecretValues(const Json& secret, std::initializer_list<const char*> keys) {
  const Json data = secret.value("data", Json::object());
  std::vector<std::string> values;
  for (const char* key : keys) {
    if (!data.contains(key) || !data[key].is_string()) return std::nullopt;
    auto decoded = kube::DecodeBase64(data[key].get<std::string>());
    if (!decoded) return std::nullopt;
    values.push_back(std::move(*decoded));
  }
  return values;
}

// The StatefulSet's spec.replicas as the informer last saw it; nullopt before it exists.
std::optional<int> StatefulSetReplicas(const std::optional<Json>& statefulset) {
  if (!statefulset) return std::nullopt;
  return statefulset->value("spec", Json::object()).value("replicas", 1);
}

// What the rollout planner reads: the StatefulSet's updateRevision, the pods' revisions and who
// carries the leader label.
RolloutInput RolloutInputOf(const Observation& seen, const std::vector<Json>& pods, int replicas) {
  RolloutInput in{.update_revision = seen.statefulset->value("status", Json::object()).value("updateRevision", ""),
                  .replicas = replicas,
                  .members = seen.members};
  for (const Json& pod : pods) {
    const std::string name = pod["metadata"].value("name", "");
    in.revisions[name] = Label(pod, "controller-revision-hash");
    if (Label(pod, specs::kRoleLabel) == "leader") in.labelled_leader = name;
  }
  return in;
}

NodeDrainInput NodeDrainInputOf(const Observation& seen, const std::vector<Json>& pods, int replicas,
                                const kube::Store& nodes, const std::optional<Json>& budget) {
  NodeDrainInput in{.replicas = replicas, .members = seen.members};
  for (const Json& pod : pods) {
    const std::string node = pod.value("spec", Json::object()).value("nodeName", "");
    if (node.empty()) continue;
    in.nodes[pod["metadata"].value("name", "")] = node;
    if (auto n = nodes.Get(node); n && NodeIsDraining(*n)) in.draining.insert(node);
  }
  if (budget) {
    const Json status = budget->value("status", Json::object());
    if (status.contains("disruptionsAllowed")) in.disruptions_allowed = status["disruptionsAllowed"].get<int>();
  }
  return in;
}

bool Paused(const Json& cluster, const StegoClusterSpec& spec) {
  return spec.paused ||
         cluster["metadata"].value("annotations", Json::object()).value(kPausedAnnotation, "") == "true";
}

}  // namespace

const kube::GroupVersionResource& StegoClusters() {
  static const kube::GroupVersionResource gvr{std::string(kGroup), std::string(kVersion), std::string(kPlural)};
  return gvr;
}

std::pair<std::string, std::string> SplitKey(const std::string& key) {
  const auto slash = key.find('/');
  if (slash == std::string::npos) return {"", key};
  return {key.substr(0, slash), key.substr(slash + 1)};
}

ClusterReconciler::ClusterReconciler(kube::Client& client, Caches caches, kube::EventRecorder& events,
                                     members::MemberProber& prober, common::Metrics& metrics)
    : client_(client),
      caches_(caches),
      events_(events),
      prober_(prober),
      writes_(metrics.CounterFamily("stego_operator_writes_total",
                                    "Writes to the API server by the reconciler, by kind of object and verb.",
                                    {"kind", "verb"})) {}

ClusterReconciler::Result ClusterReconciler::Reconcile(const std::string& key) {
  auto cached = caches_.clusters.Get(key);
  if (!cached || (*cached)["metadata"].contains("deletionTimestamp")) {
    prober_.Forget(key);  // the owner references take care of the rest
    return Requeue{};
  }
  const Json& cluster = *cached;
  const StegoClusterStatus before = StatusFromJson(cluster.value("status", Json::object()));
  Observation seen{.generation = cluster["metadata"].value("generation", std::int64_t{0})};

  auto spec = SpecFromJson(cluster.value("spec", Json::object()));
  if (!spec) return RefuseSpec(cluster, before, seen, spec.error());
  const auto [ns, name] = SplitKey(key);
  const specs::Cluster c{name, ns, cluster["metadata"].value("uid", ""), *spec,
                         cluster["metadata"].value("annotations", Json::object()).value(kRestartedAtAnnotation, "")};
  seen.desired_replicas = c.spec.replicas;
  seen.selector = specs::SelectorString(c);
  seen.paused = Paused(cluster, c.spec);
  const std::vector<Json> pods = MemberPods(c);
  seen.statefulset = caches_.statefulsets.Get(key);
  // Until every member has been asked once (an operator that has just started, a new pod), the
  // operator does not know who leads: say nothing rather than "no leader", and keep the size as it
  // is. The first answers trigger the next pass.
  const bool observed = ObserveMembers(key, pods, seen);
  const std::optional<int> size = StatefulSetReplicas(seen.statefulset);
  seen.step = observed ? PlanScale(c.name, c.spec.replicas, size, seen.members)
                       : MemberStep{.statefulset_replicas = size.value_or(c.spec.replicas)};
  // Restarts wait while the size changes: one change to the members at a time.
  if (observed && size && seen.step.reason.empty()) seen.step = PlanRollout(RolloutInputOf(seen, pods, *size));
  if (const Condition* was = FindCondition(before, "Progressing");
      observed && size && was && was->reason == "RollingRestart" && seen.step.reason.empty()) {
    (void)events_.Record(cluster, EventType::kNormal, "RolloutCompleted", "Rollout",
                         "every member runs the current template, revision " +
                             seen.statefulset->value("status", Json::object()).value("updateRevision", ""));
  }
  NodeDrainPlan drain;
  if (observed && size) {
    drain = PlanNodeDrain(NodeDrainInputOf(seen, pods, *size, caches_.nodes, caches_.budgets.Get(key)));
    if (seen.step.action == MemberStep::Action::kNone && drain.step.action != MemberStep::Action::kNone) {
      seen.step = drain.step;
    }
  }
  std::string admin_key;  // from the Secret, for the members' configuration and admin API
  if (seen.paused) {
    if (const Condition* was = FindCondition(before, "Progressing"); !was || was->reason != "Paused") {
      (void)events_.Record(cluster, EventType::kNormal, "Paused", "Pause",
                           "reconciling stopped: owned objects, labels and members are left as they are");
    }
  } else {
    seen.blocker = EnsureAuthSecret(cluster, c, admin_key);
    if (c.spec.peer_tls && seen.blocker.reason.empty()) seen.blocker = EnsurePeerTls(cluster, c);
    if (Blocker applied = ApplyOwned(cluster, c, seen.step.statefulset_replicas); !applied.reason.empty()) {
      seen.blocker = applied;
    }
  }
  if (!observed) return seen.blocker.reason.empty() ? Result(Requeue{}) : common::Unexpected{seen.blocker.message};

  StegoClusterStatus after = BuildStatus(seen, before, std::chrono::system_clock::now());
  if (!seen.paused) {
    // A label that cannot be set leaves the leader Service (and the Ingress) pointing nowhere.
    Blocker relabel = Relabel(cluster, pods, after.leader);
    if (!relabel.reason.empty() && seen.blocker.reason.empty()) {
      seen.blocker = std::move(relabel);
      after = BuildStatus(seen, before, std::chrono::system_clock::now());
    }
  }
  if (const Condition* now = FindCondition(after, "Available"); now && now->reason == "QuorumLost") {
    if (const Condition* was = FindCondition(before, "Available"); !was || was->reason != "QuorumLost") {
      (void)events_.Record(cluster, EventType::kWarning, "QuorumLost", "Observe", now->message);
    }
  }
  if (!after.leader.empty() && after.leader != before.leader) {
    (void)events_.Record(cluster, EventType::kNormal, "LeaderChanged", "Relabel",
                         after.leader + " leads term " + std::to_string(after.term) +
                             (before.leader.empty() ? "" : " (was " + before.leader + ")"));
  }
  if (auto written = WriteStatus(cluster, before, after); !written) return common::Unexpected{written.error()};
  if (!seen.blocker.reason.empty()) return common::Unexpected{seen.blocker.message};
  if (!seen.paused) {
    ReportDrainBlocked(cluster, drain.blocked);
    if (auto scaled = TakeMemberStep(cluster, seen.step, pods, admin_key, before); !scaled) {
      return common::Unexpected{scaled.error()};
    }
    if (auto synced = SyncSettings(cluster, c, pods, after.leader, admin_key); !synced) {
      return common::Unexpected{synced.error()};
    }
  }
  // The probes and informers trigger every change; the delay only bounds how stale a status can
  // get if a trigger were ever missed while the cluster is not ready.
  const Condition* ready = FindCondition(after, "Ready");
  if (!seen.paused && ready && ready->status != "True") return Requeue{std::chrono::milliseconds(10'000)};
  return Requeue{};
}

ClusterReconciler::Result ClusterReconciler::RefuseSpec(const Json& cluster, const StegoClusterStatus& before,
                                                        Observation& seen, const std::string& why) {
  seen.blocker = {"InvalidSpec", why};
  if (const Condition* was = FindCondition(before, "Degraded"); !was || was->reason != "InvalidSpec") {
    (void)events_.Record(cluster, EventType::kWarning, "InvalidSpec", "Refuse", why);
  }
  auto written = WriteStatus(cluster, before, BuildStatus(seen, before, std::chrono::system_clock::now()));
  if (!written) return common::Unexpected{written.error()};
  return Requeue{};
}

bool ClusterReconciler::ObserveMembers(const std::string& key, const std::vector<Json>& pods, Observation& seen) {
  std::vector<members::Target> targets;
  for (const Json& pod : pods) {
    targets.push_back({pod["metadata"].value("name", ""), pod.value("status", Json::object()).value("podIP", "")});
  }
  prober_.Track(key, targets);
  bool all_probed = true;
  for (std::size_t i = 0; i < pods.size(); ++i) {
    const members::Target& t = targets[i];
    all_probed = all_probed && (t.ip.empty() || prober_.Probed(key, t.pod));
    seen.members.push_back({.pod = t.pod, .ready = PodReady(pods[i]), .view = prober_.View(key, t.pod)});
  }
  return all_probed;
}

Blocker ClusterReconciler::EnsureAuthSecret(const Json& owner, const specs::Cluster& c, std::string& admin_key) {
  const std::string secret_name = specs::AuthSecretName(c);
  auto live = client_.Get(res::kSecrets, c.ns, secret_name);
  if (live) return ReadAdminKey(*live, admin_key);
  if (!live.error().NotFound()) return {"ApplyFailed", live.error().Describe()};
  if (c.spec.auth_secret_name) {
    (void)events_.Record(owner, EventType::kWarning, "AuthSecretMissing", "Refuse",
                         "Secret " + secret_name + " (spec.auth.secretName) does not exist");
    return {"AuthSecretMissing", "Secret " + secret_name + " (spec.auth.secretName) does not exist"};
  }
  const std::string cluster_secret = RandomToken(), new_admin_key = RandomToken();
  if (cluster_secret.empty() || new_admin_key.empty()) return {"ApplyFailed", "no randomness for the Secret"};
  // Create, never apply: an existing Secret (created meanwhile) is left exactly as it is.
  auto created = client_.Create(res::kSecrets, c.ns, specs::AuthSecret(c, cluster_secret, new_admin_key));
  if (!created) {
    if (!created.error().AlreadyExists()) return {"ApplyFailed", created.error().Describe()};
    auto meanwhile = client_.Get(res::kSecrets, c.ns, secret_name);
    return meanwhile ? ReadAdminKey(*meanwhile, admin_key) : Blocker{"ApplyFailed", meanwhile.error().Describe()};
  }
  admin_key = new_admin_key;
  writes_.WithLabels({"Secret", "create"}).Inc();
  (void)events_.Record(owner, EventType::kNormal, "Created", "Create",
                       "Secret " + secret_name + " with a new cluster secret and admin key");
  return {};
}

Blocker ClusterReconciler::EnsurePeerTls(const Json& owner, const specs::Cluster& c) {
  auto live_ca = client_.Get(res::kSecrets, c.ns, specs::PeerCaSecretName(c));
  if (!live_ca && !live_ca.error().NotFound()) return {"ApplyFailed", live_ca.error().Describe()};
  auto live_tls = client_.Get(res::kSecrets, c.ns, specs::PeerTlsSecretName(c));
  if (!live_tls && !live_tls.error().NotFound()) return {"ApplyFailed", live_tls.error().Describe()};
  std::optional<common::CertifiedKey> ca;
  if (live_ca) {
    auto values = SecretValues(*live_ca, {"ca.crt", "ca.key"});
    ca = values ? common::CertifiedKey{(*values)[0], (*values)[1]} : common::CertifiedKey{};  // empty: invalid
  }
  std::optional<PeerTlsFiles> files;
  if (live_tls) {
    auto values = SecretValues(*live_tls, {"ca.crt", "tls.crt", "tls.key"});
    files = values ? PeerTlsFiles{(*values)[0], {(*values)[1], (*values)[2]}} : PeerTlsFiles{};
  }
  auto plan = PlanPeerTls(c, ca, files, std::chrono::system_clock::now());
  if (!plan) {
    (void)events_.Record(owner, EventType::kWarning, "PeerCaInvalid", "Refuse", plan.error());
    return {"PeerCaInvalid", plan.error()};
  }
  if (plan->create_ca) {
    // Create, never apply: a CA made meanwhile by another pass wins, and this pass retries.
    auto created = client_.Create(res::kSecrets, c.ns, specs::PeerCaSecret(c, plan->ca.cert_pem, plan->ca.key_pem));
    if (!created) return {"ApplyFailed", created.error().Describe()};
    writes_.WithLabels({"Secret", "create"}).Inc();
    (void)events_.Record(owner, EventType::kNormal, "Created", "Create",
                         "Secret " + specs::PeerCaSecretName(c) + " with the cluster's peer CA");
  }
  if (!plan->leaf) return {};
  Json desired = specs::PeerTlsSecret(c, plan->ca.cert_pem, plan->leaf->cert_pem, plan->leaf->key_pem);
  // Replaced at the version read: a concurrent writer makes this fail (409) and the pass retry.
  if (live_tls) desired["metadata"]["resourceVersion"] = (*live_tls)["metadata"].value("resourceVersion", "");
  const auto wrote =
      live_tls ? client_.Update(res::kSecrets, c.ns, desired) : client_.Create(res::kSecrets, c.ns, desired);
  if (!wrote) return {"ApplyFailed", wrote.error().Describe()};
  writes_.WithLabels({"Secret", live_tls ? "update" : "create"}).Inc();
  (void)events_.Record(owner, EventType::kNormal, "PeerCertificateIssued", live_tls ? "Update" : "Create",
                       "Secret " + specs::PeerTlsSecretName(c) + ": peer certificate issued (" + plan->reason +
                           "), valid 90 days");
  return {};
}

common::Expected<void, std::string> ClusterReconciler::SyncSettings(const Json& owner, const specs::Cluster& c,
                                                                    const std::vector<Json>& pods,
                                                                    const std::string& leader,
                                                                    const std::string& admin_key) {
  const auto leader_pod = std::find_if(pods.begin(), pods.end(), [&](const Json& p) {
    return !leader.empty() && p["metadata"].value("name", "") == leader;
  });
  if (leader_pod == pods.end()) return {};  // no one to ask yet
  const std::string leader_ip = (*leader_pod)["status"].value("podIP", "");
  const std::string uid = owner["metadata"].value("uid", "");
  const std::int64_t generation = owner["metadata"].value("generation", std::int64_t{0});
  {
    std::lock_guard lock(settled_mu_);
    if (settled_[uid] == generation) return {};
  }
  auto wrote = members::EnsureClusterSettings(leader_ip, specs::kHttpPort, admin_key,
                                              {.default_lsb_bits = c.spec.worker.default_lsb_bits},
                                              std::chrono::seconds(5));
  if (!wrote) {
    (void)events_.Record(owner, EventType::kWarning, "ConfigureFailed", "Configure", wrote.error());
    return common::Unexpected{wrote.error()};
  }
  if (*wrote) {
    writes_.WithLabels({"ClusterConfig", "put"}).Inc();
    (void)events_.Record(owner, EventType::kNormal, "Configured", "Configure",
                         "default_lsb_bits " + std::to_string(c.spec.worker.default_lsb_bits) +
                             " in the cluster's replicated configuration");
  }
  std::lock_guard lock(settled_mu_);
  settled_[uid] = generation;
  return {};
}

common::Expected<void, std::string> ClusterReconciler::TakeMemberStep(const Json& owner, const MemberStep& step,
                                                                      const std::vector<Json>& pods,
                                                                      const std::string& admin_key,
                                                                      const StegoClusterStatus& before) {
  using Action = MemberStep::Action;
  const char* action = step.reason == "NodeDrain"                                         ? "Drain"
                       : step.reason == "RollingRestart" || step.reason == "RolloutBlocked" ? "Rollout"
                                                                                           : "Scale";
  if (step.blocked()) {
    if (const Condition* was = FindCondition(before, "Progressing"); !was || was->message != step.message) {
      (void)events_.Record(owner, EventType::kWarning, step.reason, action, step.message);
    }
    return {};
  }
  if (step.action == Action::kNone) return {};
  // Whom to ask: a removal goes to the leader (`target`), everything else to `member`.
  const std::string& asked = step.action == Action::kRemoveMember ? step.target : step.member;
  const auto pod = std::find_if(pods.begin(), pods.end(), [&](const Json& p) { return p["metadata"].value("name", "") == asked; });
  if (pod == pods.end()) return common::Unexpected{"no pod " + asked + " to ask"};
  const std::string ip = (*pod)["status"].value("podIP", "");
  const auto done = [&](const char* reason) {
    (void)events_.Record(owner, EventType::kNormal, reason, action, step.message);
    return common::Expected<void, std::string>{};
  };
  const auto failed = [&](const char* reason, const std::string& why) {
    (void)events_.Record(owner, EventType::kWarning, reason, action, why);
    return common::Expected<void, std::string>{common::Unexpected{why}};
  };
  switch (step.action) {
    case Action::kDrainMember: {
      auto drained = members::Drain(ip, specs::kHttpPort, admin_key, kMemberCallTimeout);
      return drained ? done("MemberDraining") : failed("DrainFailed", drained.error());
    }
    case Action::kTransferLeadership: {
      auto moved = members::TransferLeadership(ip, specs::kHttpPort, admin_key, step.target, kMemberCallTimeout);
      return moved ? done("LeadershipTransferred") : failed("TransferFailed", moved.error());
    }
    case Action::kRemoveMember: {
      auto removed = members::RemoveMember(ip, specs::kHttpPort, admin_key, step.member, kMemberCallTimeout);
      return removed ? done("MemberRemoved") : failed("RemoveFailed", removed.error());
    }
    case Action::kDeletePod: {
      // Only once the client Service no longer sends it anything (its slices follow readiness).
      const std::string ns = owner["metadata"].value("namespace", "");
      const auto gone = [&](const std::set<std::string>& ready) { return !ready.contains(step.member); };
      if (!AwaitSlice(ns, owner["metadata"].value("name", ""), gone)) {
        return common::Unexpected{step.member + " is still listed by the client Service's EndpointSlices"};
      }
      auto deleted = client_.Delete(kube::resources::kPods, ns, step.member,
                                    {.precondition_uid = (*pod)["metadata"].value("uid", "")});
      if (!deleted && !deleted.error().NotFound()) return failed("RestartFailed", deleted.error().Describe());
      writes_.WithLabels({"Pod", "delete"}).Inc();
      return done("PodRestarted");
    }
    case Action::kNone:
      break;
  }
  return {};
}

void ClusterReconciler::ReportDrainBlocked(const Json& owner, const std::string& why) {
  const std::string uid = owner["metadata"].value("uid", "");
  {
    std::lock_guard lock(drain_mu_);
    std::string& last = drain_blocked_[uid];
    if (last == why) return;
    last = why;
  }
  if (!why.empty()) (void)events_.Record(owner, EventType::kWarning, "DrainBlocked", "Drain", why);
}

Blocker ClusterReconciler::ApplyOwned(const Json& owner, const specs::Cluster& c, int replicas) {
  const std::vector<std::pair<const kube::GroupVersionResource*, Json>> always = {
      {&res::kServices, specs::PeersService(c)},       {&res::kServices, specs::ClientService(c)},
      {&res::kServices, specs::LeaderService(c)},      {&res::kStatefulSets, specs::StatefulSet(c, replicas)},
      {&res::kNetworkPolicies, specs::NetworkPolicy(c)}};
  for (const auto& [gvr, desired] : always) {
    const kube::Store& cache = gvr == &res::kServices       ? caches_.services
                               : gvr == &res::kStatefulSets ? caches_.statefulsets
                                                            : caches_.policies;
    if (Blocker b = ApplyIfChanged(owner, *gvr, cache, desired); !b.reason.empty()) return b;
  }
  Blocker b = c.spec.pod_disruption_budget
                  ? ApplyIfChanged(owner, res::kPodDisruptionBudgets, caches_.budgets, specs::PodDisruptionBudget(c))
                  : DeleteIfPresent(owner, res::kPodDisruptionBudgets, caches_.budgets, c.ns, c.name);
  if (!b.reason.empty()) return b;
  return c.spec.ingress.enabled ? ApplyIfChanged(owner, res::kIngresses, caches_.ingresses, specs::Ingress(c))
                                : DeleteIfPresent(owner, res::kIngresses, caches_.ingresses, c.ns, c.name);
}

Blocker ClusterReconciler::ApplyIfChanged(const Json& owner, const kube::GroupVersionResource& gvr,
                                          const kube::Store& cache, const Json& desired) {
  const std::string ns = desired["metadata"]["namespace"], name = desired["metadata"]["name"];
  const std::string kind = desired["kind"];
  auto live = cache.Get(ns + "/" + name);
  // A listed or watched object carries no apiVersion and kind: compare the rest.
  Json fields = desired;
  fields.erase("apiVersion");
  fields.erase("kind");
  if (live && Covers(*live, fields)) return {};
  auto applied = client_.Apply(gvr, ns, desired, {.field_manager = kFieldManager, .force = true});
  if (!applied) {
    (void)events_.Record(owner, EventType::kWarning, "ApplyFailed", "Apply", applied.error().Describe());
    return {"ApplyFailed", applied.error().Describe()};
  }
  writes_.WithLabels({kind, "apply"}).Inc();
  const bool created = !live;
  spdlog::info("{} {} {}/{}", created ? "created" : "updated", kind, ns, name);
  (void)events_.Record(owner, EventType::kNormal, created ? "Created" : "Updated", "Apply",
                       kind + " " + name + (created ? "" : ": put back what the spec asks"));
  return {};
}

Blocker ClusterReconciler::DeleteIfPresent(const Json& owner, const kube::GroupVersionResource& gvr,
                                           const kube::Store& cache, const std::string& ns, const std::string& name) {
  auto live = cache.Get(ns + "/" + name);
  if (!live) return {};
  // Only our own: an object of that name that this cluster does not control is not ours to delete.
  const Json owners = (*live)["metadata"].value("ownerReferences", Json::array());
  const bool ours = std::any_of(owners.begin(), owners.end(), [&](const Json& ref) {
    return ref.value("uid", "") == owner["metadata"].value("uid", "") && ref.value("controller", false);
  });
  if (!ours) return {};
  auto deleted = client_.Delete(gvr, ns, name, {.precondition_uid = (*live)["metadata"].value("uid", "")});
  if (!deleted && !deleted.error().NotFound()) return {"ApplyFailed", deleted.error().Describe()};
  const std::string kind = live->value("kind", gvr.resource);
  writes_.WithLabels({kind, "delete"}).Inc();
  (void)events_.Record(owner, EventType::kNormal, "Deleted", "Delete", kind + " " + name + ": disabled in the spec");
  return {};
}

std::vector<Json> ClusterReconciler::MemberPods(const specs::Cluster& c) const {
  std::vector<Json> pods;
  for (Json& pod : caches_.pods.ByNamespace(c.ns)) {
    if (Label(pod, specs::kClusterLabel) == c.name && !pod["metadata"].contains("deletionTimestamp")) {
      pods.push_back(std::move(pod));
    }
  }
  std::sort(pods.begin(), pods.end(), [](const Json& a, const Json& b) { return Ordinal(a) < Ordinal(b); });
  return pods;
}

Blocker ClusterReconciler::Relabel(const Json& owner, const std::vector<Json>& cached_pods, const std::string& leader) {
  if (RoleChanges(cached_pods, leader).empty()) return {};
  // The cache may not show our own last relabelling yet: decide on the pods as they are now, or a
  // quick second change of leader could promote one pod before the first is seen demoted.
  const std::string ns = owner["metadata"].value("namespace", "");
  const std::string selector = std::string(specs::kClusterLabel) + "=" + owner["metadata"].value("name", "");
  auto live = client_.List(kube::resources::kPods, ns, {.label_selector = selector});
  if (!live) return {"RelabelFailed", live.error().Describe()};
  bool promoted = false;
  for (const RoleChange& change : RoleChanges((*live)["items"].get<std::vector<Json>>(), leader)) {
    // Make before break: the old leader is demoted once the leader Service lists the new one, so
    // the Service never has no endpoint (an Ingress answers 404 meanwhile: every request, not
    // only writes, would fail). Until then the old leader, a follower now, forwards what it gets.
    if (change.role == "follower" && promoted) {
      const auto listed = [&](const std::set<std::string>& ready) { return ready.contains(leader); };
      (void)AwaitSlice(ns, owner["metadata"].value("name", "") + "-leader", listed);
    }
    auto patched = client_.MergePatch(kube::resources::kPods, ns, change.pod,
                                      {{"metadata", {{"labels", {{specs::kRoleLabel, change.role}}}}}});
    if (!patched) {
      (void)events_.Record(owner, EventType::kWarning, "RelabelFailed", "Relabel", patched.error().Describe());
      return {"RelabelFailed", patched.error().Describe()};
    }
    writes_.WithLabels({"Pod", "patch"}).Inc();
    spdlog::info("labelled {}/{} {}", ns, change.pod, change.role);
    promoted = promoted || change.role == "leader";
  }
  return {};
}

bool ClusterReconciler::AwaitSlice(const std::string& ns, const std::string& service,
                                   const std::function<bool(const std::set<std::string>& ready)>& done) {
  // Listed means listed as ready: kube-proxy and the Ingress controller send nothing to the others.
  const auto deadline = std::chrono::steady_clock::now() + kSliceWait;
  const kube::ListOptions options{.label_selector = "kubernetes.io/service-name=" + service};
  while (std::chrono::steady_clock::now() < deadline) {
    auto slices = client_.List(kube::resources::kEndpointSlices, ns, options);
    if (!slices) return false;
    std::set<std::string> ready;
    for (const Json& slice : (*slices)["items"]) {
      for (const Json& e : slice.value("endpoints", Json::array())) {
        if (e.value("conditions", Json::object()).value("ready", true)) {
          ready.insert(e.value("targetRef", Json::object()).value("name", ""));
        }
      }
    }
    if (done(ready)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

common::Expected<void, std::string> ClusterReconciler::WriteStatus(const Json& owner, const StegoClusterStatus& before,
                                                                   const StegoClusterStatus& after) {
  if (after == before) return {};
  Json status = StatusToJson(after);
  // A merge patch keeps what it does not mention: name what is no longer there.
  for (const char* gone : {"leader", "targetLeader", "term", "lastLeaderTransitionTime"}) {
    if (!status.contains(gone)) status[gone] = nullptr;
  }
  auto patched = client_.MergePatch(StegoClusters(), owner["metadata"].value("namespace", ""),
                                    owner["metadata"].value("name", ""), {{"status", std::move(status)}}, "status");
  if (!patched) return common::Unexpected{patched.error().Describe()};
  writes_.WithLabels({"StegoCluster", "status"}).Inc();
  return {};
}

}  // namespace stegocluster::controller
