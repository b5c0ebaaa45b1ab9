// Controller: the StegoCluster controller's moving parts, wired as controller-runtime wires one:
// informers on StegoClusters and on every kind the operator owns (owned objects selected by the
// managed-by label) turn each change into the owning cluster's key on a rate-limited work queue;
// `workers` threads take keys and run ClusterReconciler::Reconcile; the member probes add keys too.
// A failed pass is retried with per-key back-off; a key is never reconciled twice at once.
//
// Runs only while this process leads (operator/app/main.cc); everything here is built at start
// and torn down at stop, so a new leader starts from fresh caches.
#pragma once

#include <chrono>
#include <memory>
#include <stop_token>
#include <string>

#include "common/metrics.h"
#include "operator/kube/client.h"
#include "operator/kube/events.h"

namespace stegocluster::controller {

struct ControllerOptions {
  std::string ns;  // the namespace to watch; "" = all
  int workers = 2;
  std::chrono::milliseconds member_poll_interval{100};
  std::chrono::milliseconds member_poll_timeout{1'000};
};

class Controller {
 public:
  Controller(kube::Client& client, kube::EventRecorder& events, common::Metrics& metrics, ControllerOptions options);
  ~Controller();

  // Starts the informers, waits for their first lists, then reconciles until `stop`. Blocking.
  void Run(std::stop_token stop);
  // True once every informer has its first list (readiness).
  bool Synced() const;

 private:
  struct Parts;
  std::unique_ptr<Parts> parts_;
};

}  // namespace stegocluster::controller
