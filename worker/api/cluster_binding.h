// ClusterBinding: everything a cluster member adds to the worker, built and owned in one place —
// the member (cluster/member.h), the table of jobs the leader may run here, the job recorder
// feeding the replicated job ledger, and the leader's dispatcher — and what the API takes from
// them. The process (app/main.cc) makes one when it runs with --peer, and a standalone worker
// simply has none.
//
// The stego routes know nothing of it: they name the job they compute (RouteOptions::job), and
// JobMiddleware, installed on the Endpoints before the routes are added, records each job in the
// ledger, registers it for the peer port and lets the leader place it on the least-loaded member.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/expected.h"
#include "common/metrics.h"
#include "worker/api/endpoints.h"
#include "worker/api/load_meter.h"
#include "worker/api/stego_routes.h"
#include "worker/cluster/dispatcher.h"
#include "worker/cluster/job_recorder.h"
#include "worker/cluster/member.h"
#include "worker/http/router.h"

namespace api {

class ClusterBinding {
 public:
  // Starts the member. `options.load_report` and `options.add_peer_routes` are filled in here
  // (this member's load and health; the peer port's job route). `pause` and `load` must outlive
  // the binding.
  static common::Expected<std::unique_ptr<ClusterBinding>, cluster::Error> Start(cluster::MemberOptions options,
                                                                                const PauseSwitch& pause,
                                                                                const LoadMeter& load,
                                                                                common::Metrics& metrics);
  ~ClusterBinding();  // Stop()

  cluster::ClusterMember& member() { return *member_; }

  // For Endpoints::Use: wraps each job route (RouteOptions::job) as described above.
  http::Middleware JobMiddleware();
  // The replicated configuration's stego values, read per request.
  StegoTunables Tunables() const;
  // Whether the replicated cors_origins lists `origin`.
  bool AllowsOrigin(std::string_view origin) const;

  // The leader's part of a graceful stop, while in-flight requests finish: hands leadership to an
  // up-to-date voter (waiting at most `grace`), so that clients find the new leader at once.
  void HandOverIfLeader(std::chrono::milliseconds grace);
  // Stops dispatching, sends the job records still waiting, then stops the member. Idempotent.
  void Stop();

 private:
  ClusterBinding(const PauseSwitch& pause, const LoadMeter& load);
  nlohmann::json LoadReport() const;
  nlohmann::json LoadHistory() const;
  http::Handler Recorded(std::string kind, http::Handler job) const;

  const PauseSwitch& pause_;
  const LoadMeter& load_;
  std::unique_ptr<cluster::JobTable> jobs_;
  std::unique_ptr<cluster::ClusterMember> member_;
  // member_ once Start has stored it, for the callbacks the member's own threads make (load
  // reports, the peer job route): they begin while ClusterMember::Start is still running, before
  // member_ is assigned, so they must not read member_ itself.
  std::atomic<cluster::ClusterMember*> started_member_{nullptr};
  std::unique_ptr<cluster::JobRecorder> recorder_;
  std::unique_ptr<cluster::Dispatcher> dispatcher_;
};

}  // namespace api
