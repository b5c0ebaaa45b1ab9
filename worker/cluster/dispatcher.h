// Leader dispatch: the leader runs each stego job on the least-loaded healthy member, itself
// included, and retries elsewhere when a member fails mid-job (docs/cluster.md, "Dispatch").
//
// The member side — JobTable: the jobs this member can run, by route name. Each run is counted
// while it lasts (that count is the member's `in_flight`, reported with its load); its answer
// names the member in X-Stego-Member (api/stego_routes.h), so a client sees where its job ran. AddPeerJobRoutes
// serves POST /raft/v1/jobs/{route} on the peer port (cluster secret required): the leader sends
// the client's request there — body, content type, Accept, query and request id unchanged — and
// relays the answer back as it is.
//
// The leader side — Dispatcher: every load_period it asks each member for its load (GET
// /raft/v1/load; the "load beat"). For a job it picks, among itself and the members whose last
// beat was healthy, recent, and not more than max_lag entries behind its commit index (a member
// cut off from Raft traffic still answers beats), the one with the fewest jobs in flight: for another member the
// larger of what it last reported and what the leader has sent it and not yet heard back (the
// report lags by up to a beat); for itself its live count. Equals take turns, so that sequential
// clients spread too. CPU and memory are reported but not used to choose: the number of jobs
// waiting is the direct measure of the delay a new job would see.
//
// Failure: a member that does not answer, resets the connection, or answers 502/503/504 (paused,
// overloaded, stopping) has failed the job; the leader tries the next best member, and as the
// last resort runs the job itself. The client therefore gets the job's own answer or, if every
// member failed, the last failure: never silence. Other statuses (a 400 for a bad upload) are the
// job's answer and are relayed as they are. Jobs are pure functions of their request, so a retry
// cannot do anything twice that matters.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "common/metrics.h"
#include "worker/http/router.h"
#include "worker/raft/transport/peer_client.h"
#include "worker/raft/types.h"

namespace cluster {

class ClusterMember;

class JobTable {
 public:

  // Registers `job` under `route` and returns it wrapped in the in-flight count, which is what the
  // member's own API route must call too; the table must outlive the wrapper. Thread-safe.
  http::Handler Add(const std::string& route, http::Handler job);
  // Runs the job called `route` here; 404 when there is none.
  http::Response Run(const std::string& route, http::Request& request) const;
  int in_flight() const { return in_flight_.load(); }

 private:
  mutable std::mutex mu_;
  std::map<std::string, http::Handler, std::less<>> jobs_;
  std::atomic<int> in_flight_{0};
};

// POST /raft/v1/jobs/{route} on the peer port.
struct JobRouteOptions {
  std::string secret;
  // While true (fault injection: a hung member) jobs get 503, which the leader takes as a failed
  // member.
  std::function<bool()> paused;
  // Whether this member has applied the log up to `index`, waiting a little if need be. The
  // leader sends its commit index with each job, so a job never sees older state than a write
  // its client already had acknowledged (a cover just uploaded, a configuration just changed);
  // a member too far behind answers 503 and the job goes elsewhere.
  std::function<bool(raft::Index index)> caught_up_to;
};
void AddPeerJobRoutes(http::Router& peer_router, const JobTable& jobs, JobRouteOptions options);

struct DispatcherOptions {
  raft::transport::PeerAuth peer;  // how the members' peer ports are reached
  std::chrono::milliseconds load_period{250};
  std::chrono::milliseconds stale_after{1'000};      // a beat older than this: not a candidate
  raft::Index max_lag = 16;                          // entries applied behind our commit, at the beat
  std::chrono::milliseconds job_timeout{120'000};    // one dispatched job, upload to answer
};

class Dispatcher {
 public:
  // Both must outlive the dispatcher.
  Dispatcher(ClusterMember& member, JobTable& jobs, DispatcherOptions options, common::Metrics& metrics);
  ~Dispatcher();  // stops the load beat

  // For RouteOptions::relay of the job `route`: on the leader, when another member is the best
  // place for the request, the handler that runs it there; empty when this member should compute
  // it itself (not the leader, or the least loaded, or alone).
  http::Handler Relay(const http::Request& request, const std::string& route);

 private:
  struct Beat {
    std::string name;
    std::string peer;
    bool healthy = false;
    int in_flight = 0;
    int outstanding = 0;  // dispatched by us, not yet answered
    bool caught_up = false;  // applied within max_lag of our commit index
    std::chrono::steady_clock::time_point at;
  };

  void BeatLoop();
  void CollectBeats();
  // The best member for the next job, skipping `tried`; kNone means this member.
  raft::NodeId Pick(const std::vector<raft::NodeId>& tried);
  http::Response RunAt(raft::NodeId target, const std::string& route, http::Request& request);
  http::Response RunDispatched(const std::string& route, raft::NodeId first, http::Request& request);

  ClusterMember& member_;
  JobTable& jobs_;
  const DispatcherOptions options_;
  common::Family<common::Counter>& placed_;
  common::Counter& failures_;

  std::mutex mu_;
  std::map<raft::NodeId, Beat> beats_;
  std::uint64_t turn_ = 0;

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread beat_thread_;
};

}  // namespace cluster
