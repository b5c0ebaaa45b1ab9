#include "operator/controller/controller.h"

#include <atomic>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "operator/controller/reconciler.h"
#include "operator/kube/informer.h"
#include "operator/kube/workqueue.h"
#include "operator/members/prober.h"

namespace stegocluster::controller {
namespace {

namespace res = kube::resources;
constexpr char kOwnedSelector[] = "app.kubernetes.io/managed-by=stego-operator";

// The key of the cluster an owned object belongs to, from its cluster label ("" when none).
std::string OwnerKey(const Json& object) {
  const Json& meta = object["metadata"];
  const std::string cluster = meta.value("labels", Json::object()).value(specs::kClusterLabel, "");
  return cluster.empty() ? "" : meta.value("namespace", "") + "/" + cluster;
}

}  // namespace

struct Controller::Parts {
  Parts(kube::Client& client, kube::EventRecorder& events, common::Metrics& metrics, ControllerOptions opts)
      : options(opts),
        queue(clock),
        reconciles(metrics.CounterFamily("stego_operator_reconciles_total",
                                         "Reconcile passes by result (success, requeue, error).", {"result"})),
        duration(metrics.GetHistogram("stego_operator_reconcile_duration_seconds", "Time spent in one reconcile pass.",
                                      common::Histogram::LatencyBuckets())),
        depth(metrics.GetGauge("stego_operator_workqueue_depth", "Cluster keys waiting in the work queue.")),
        member_gauge(metrics.GaugeFamily("stego_operator_members", "Member pods by cluster and Raft role.",
                                         {"cluster", "role"})),
        clusters(client, StegoClusters(), {.ns = opts.ns}, Handlers([](const Json& o) { return kube::ObjectKey(o); })),
        statefulsets(client, res::kStatefulSets, Owned(opts), Handlers(OwnerKey)),
        services(client, res::kServices, Owned(opts), Handlers(OwnerKey)),
        pods(client, res::kPods, Owned(opts), Handlers(OwnerKey)),
        budgets(client, res::kPodDisruptionBudgets, Owned(opts), Handlers(OwnerKey)),
        ingresses(client, res::kIngresses, Owned(opts), Handlers(OwnerKey)),
        policies(client, res::kNetworkPolicies, Owned(opts), Handlers(OwnerKey)),
        nodes(client, res::kNodes, {}, NodeHandlers()),
        prober(members::HttpConnect(specs::kHttpPort, opts.member_poll_timeout), opts.member_poll_interval,
               [this](const std::string& key) { Enqueue(key); }),
        reconciler(client,
                   {clusters.store(), statefulsets.store(), services.store(), pods.store(), budgets.store(),
                    ingresses.store(), policies.store(), nodes.store()},
                   events, prober, metrics) {}

  static kube::InformerOptions Owned(const ControllerOptions& o) {
    return {.ns = o.ns, .label_selector = kOwnedSelector};
  }

  kube::EventHandlers Handlers(std::function<std::string(const Json&)> key_of) {
    auto enqueue = [this, key_of](const Json& object) { Enqueue(key_of(object)); };
    return {.on_add = enqueue,
            .on_update = [enqueue](const Json&, const Json& object) { enqueue(object); },
            .on_delete = enqueue};
  }

  // A node that starts or stops being drained concerns every cluster that may have a member on
  // it; its heartbeats (status updates) concern none.
  kube::EventHandlers NodeHandlers() {
    auto enqueue_all = [this](const Json&) {
      for (const Json& cluster : clusters.store().List()) Enqueue(kube::ObjectKey(cluster));
    };
    return {.on_add = enqueue_all,
            .on_update =
                [enqueue_all](const Json& old_node, const Json& node) {
                  if (NodeIsDraining(old_node) != NodeIsDraining(node)) enqueue_all(node);
                },
            .on_delete = enqueue_all};
  }

  void Enqueue(const std::string& key) {
    if (key.empty()) return;
    queue.Add(key);
    depth.Set(static_cast<double>(queue.Len()));
  }

  std::vector<kube::Informer*> Informers() {
    return {&clusters, &statefulsets, &services, &pods, &budgets, &ingresses, &policies, &nodes};
  }

  void Work() {
    while (auto key = queue.Get()) {
      depth.Set(static_cast<double>(queue.Len()));
      const auto start = std::chrono::steady_clock::now();
      auto result = reconciler.Reconcile(*key);
      duration.Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      if (!result) {
        spdlog::warn("reconcile {}: {} (retry #{})", *key, result.error(), queue.NumRequeues(*key) + 1);
        reconciles.WithLabels({"error"}).Inc();
        queue.AddRateLimited(*key);
      } else {
        queue.Forget(*key);
        reconciles.WithLabels({*result ? "requeue" : "success"}).Inc();
        if (*result) queue.AddAfter(*key, **result);
      }
      CountMembers(*key);
      queue.Done(*key);
    }
  }

  void CountMembers(const std::string& key) {
    const auto cluster = clusters.store().Get(key);
    for (const char* role : {"Leader", "Follower", "Learner", "Unknown"}) {
      int n = 0;
      if (cluster) {
        for (const MemberStatus& m : StatusFromJson(cluster->value("status", Json::object())).members) n += m.role == role;
      }
      member_gauge.WithLabels({key, role}).Set(n);
    }
  }

  const ControllerOptions options;
  kube::SteadyClock clock;
  kube::WorkQueue queue;
  common::Family<common::Counter>& reconciles;
  common::Histogram& duration;
  common::Gauge& depth;
  common::Family<common::Gauge>& member_gauge;
  // Their handlers only touch the queue; the reconciler reads their stores.
  kube::Informer clusters, statefulsets, services, pods, budgets, ingresses, policies, nodes;
  members::MemberProber prober;
  ClusterReconciler reconciler;
  std::atomic<bool> synced{false};
};

Controller::Controller(kube::Client& client, kube::EventRecorder& events, common::Metrics& metrics,
                       ControllerOptions options)
    : parts_(std::make_unique<Parts>(client, events, metrics, options)) {}

Controller::~Controller() = default;

bool Controller::Synced() const { return parts_->synced; }

void Controller::Run(std::stop_token stop) {
  for (kube::Informer* informer : parts_->Informers()) informer->Start();
  for (kube::Informer* informer : parts_->Informers()) {
    while (!informer->WaitForSync(std::chrono::milliseconds(500))) {
      if (stop.stop_requested()) return;
    }
  }
  parts_->synced = true;
  spdlog::info("caches synced; reconciling with {} workers", parts_->options.workers);
  std::vector<std::jthread> workers;
  for (int i = 0; i < parts_->options.workers; ++i) workers.emplace_back([this] { parts_->Work(); });
  std::mutex mu;
  std::condition_variable_any stopped;
  std::unique_lock lock(mu);
  stopped.wait(lock, stop, [] { return false; });
  parts_->queue.ShutDown();
  for (kube::Informer* informer : parts_->Informers()) informer->Stop();
}

}  // namespace stegocluster::controller
