// ClusterReconciler: brings one StegoCluster's world to what its spec asks, from a key, never from
// an event (level-based, as controller-runtime's reconcilers): every pass reads the informers'
// caches and the members' views afresh, so a missed or repeated trigger changes nothing.
//
// One pass, for "namespace/name":
//   1. The cluster is gone or being deleted: stop probing its members (garbage collection removes
//      what it owns, through the owner references).
//   2. The spec does not parse: report InvalidSpec (status and a Warning event) and stop there.
//   3. Paused (spec.paused or the annotation stegocluster.io/paused: "true"): report it, touch
//      nothing else.
//   4. The Secret: <name>-auth is created once with fresh random values and never written again;
//      a Secret named by spec.auth.secretName must exist with both keys (AuthSecretMissing).
//   5. The owned objects (specs/), each applied (server-side, field manager stego-operator) only
//      when the cached live object does not already hold every field we set: a converged cluster
//      costs no write. The PDB and the Ingress are deleted when disabled.
//   6. The member pods are probed (members/prober.h); the leader label follows what they say:
//      promotion first, the old leader's demotion once the leader Service's EndpointSlices list the
//      new one (the Service never selects no pod).
//      The StatefulSet's size (step 5) and the next step on the members come from what they say
//      too: scaling one member at a time, out or in (controller/scaling.h), and otherwise a
//      rolling restart of outdated pods, leader last (controller/rollout.h); when neither acts, a
//      leader on a node being drained hands leadership to a member on another node
//      (controller/node_drain.h), and a drain that cannot go on is reported (DrainBlocked).
//   7. The status, written only when it changed.
//   8. That step: a transfer, a drain, a removal or a pod's deletion, with an event.
//   9. The spec's cluster-wide settings (members/settings.h) in the members' replicated
//      configuration, checked once per generation.
// Events name every action and every refusal. Thread-safe across keys; the work queue never hands
// the same key to two workers.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "common/expected.h"
#include "common/metrics.h"
#include "operator/api/stego_cluster.h"
#include "operator/controller/node_drain.h"
#include "operator/controller/rollout.h"
#include "operator/controller/scaling.h"
#include "operator/controller/status.h"
#include "operator/kube/client.h"
#include "operator/kube/events.h"
#include "operator/kube/store.h"
#include "operator/members/prober.h"
#include "operator/specs/specs.h"

namespace stegocluster::controller {

inline constexpr char kFieldManager[] = "stego-operator";
inline constexpr char kPausedAnnotation[] = "stegocluster.io/paused";
// Set on a StegoCluster (e.g. by a kubectl plugin or by hand) to restart every member, as
// `kubectl rollout restart` does for a Deployment: the pod template carries its value.
inline constexpr char kRestartedAtAnnotation[] = "kubectl.kubernetes.io/restartedAt";
// How long a pass waits for a Service's EndpointSlices to show a change: the leader Service the
// promoted leader before the old one's demotion, the client Service a drained member gone before
// its restart.
inline constexpr std::chrono::milliseconds kSliceWait{2'000};
// A call to a member's admin API: a transfer answers within 3 s, a removal within the member's
// 5 s request timeout.
inline constexpr std::chrono::milliseconds kMemberCallTimeout{8'000};
// Stands for the StegoCluster resource in the client's calls.
const kube::GroupVersionResource& StegoClusters();

// The informers' caches a pass reads (owned objects are selected by the managed-by label).
struct Caches {
  const kube::Store& clusters;
  const kube::Store& statefulsets;
  const kube::Store& services;
  const kube::Store& pods;
  const kube::Store& budgets;
  const kube::Store& ingresses;
  const kube::Store& policies;
  const kube::Store& nodes;  // every Node: which ones are being drained
};

class ClusterReconciler {
 public:
  ClusterReconciler(kube::Client& client, Caches caches, kube::EventRecorder& events, members::MemberProber& prober,
                    common::Metrics& metrics);

  // Success: when to look again even without a trigger (nullopt: only on a trigger). Error: what
  // failed; the caller requeues with back-off.
  using Requeue = std::optional<std::chrono::milliseconds>;
  using Result = common::Expected<Requeue, std::string>;
  Result Reconcile(const std::string& key);

 private:
  // Also answers the admin key the members take (`admin_key`).
  Blocker EnsureAuthSecret(const Json& owner, const specs::Cluster& c, std::string& admin_key);
  // The spec's cluster-wide settings in the members' replicated configuration, written through the
  // leader (by pod name; nothing while there is none), once per generation.
  common::Expected<void, std::string> SyncSettings(const Json& owner, const specs::Cluster& c,
                                                   const std::vector<Json>& pods, const std::string& leader,
                                                   const std::string& admin_key);
  // An unparsable spec: InvalidSpec in the status and (once) an event.
  Result RefuseSpec(const Json& cluster, const StegoClusterStatus& before, Observation& seen, const std::string& why);
  // Probes `pods` and records each one's readiness and view in `seen`; false until every pod with
  // an address has been probed once.
  bool ObserveMembers(const std::string& key, const std::vector<Json>& pods, Observation& seen);
  // `replicas`: the StatefulSet's size after this pass (controller/scaling.h).
  Blocker ApplyOwned(const Json& owner, const specs::Cluster& c, int replicas);
  // spec.tls.peer: the CA and peer certificate Secrets (controller/peer_tls.h), with an event for
  // each one made or renewed.
  Blocker EnsurePeerTls(const Json& owner, const specs::Cluster& c);
  // Carries out the scaling step the pass planned (a transfer or a removal, on the leader), with
  // an event; a blocked scale-in is reported (once per reason) and nothing is done.
  common::Expected<void, std::string> TakeMemberStep(const Json& owner, const MemberStep& step,
                                                    const std::vector<Json>& pods, const std::string& admin_key,
                                                    const StegoClusterStatus& before);
  Blocker ApplyIfChanged(const Json& owner, const kube::GroupVersionResource& gvr, const kube::Store& cache,
                         const Json& desired);
  Blocker DeleteIfPresent(const Json& owner, const kube::GroupVersionResource& gvr, const kube::Store& cache,
                          const std::string& ns, const std::string& name);
  std::vector<Json> MemberPods(const specs::Cluster& c) const;
  // RelabelFailed when a label could not be read or written.
  Blocker Relabel(const Json& owner, const std::vector<Json>& cached_pods, const std::string& leader);
  // Waits (at most kSliceWait) until the pods that the EndpointSlices of Service `service` list as
  // ready satisfy `done`; whether they did.
  bool AwaitSlice(const std::string& ns, const std::string& service,
                  const std::function<bool(const std::set<std::string>& ready)>& done);
  // A DrainBlocked event when `why` is new for this cluster (nothing when it is empty).
  void ReportDrainBlocked(const Json& owner, const std::string& why);
  common::Expected<void, std::string> WriteStatus(const Json& owner, const StegoClusterStatus& before,
                                                  const StegoClusterStatus& after);

  kube::Client& client_;
  const Caches caches_;
  kube::EventRecorder& events_;
  members::MemberProber& prober_;
  common::Family<common::Counter>& writes_;
  std::mutex settled_mu_;
  std::map<std::string, std::int64_t> settled_;  // cluster uid → the generation whose settings are in
  std::mutex drain_mu_;
  std::map<std::string, std::string> drain_blocked_;  // cluster uid → the DrainBlocked reason last reported
};

// "namespace/name" → the two parts (name alone when there is no slash).
std::pair<std::string, std::string> SplitKey(const std::string& key);

}  // namespace stegocluster::controller
