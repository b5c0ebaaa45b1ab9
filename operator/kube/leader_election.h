// LeaderElector: leader election on a coordination.k8s.io/v1 Lease, with client-go's rules:
//   - A candidate takes the Lease when it is free (no holder) or when the holder has not renewed
//     it for leaseDurationSeconds, measured on this process's monotonic clock from the moment it
//     last saw the Lease change (so clock skew between machines does not matter).
//   - Writes are conditional on the Lease's resourceVersion: when two candidates race, one gets a
//     409 and stays a candidate.
//   - The leader renews every retry_period; if no renewal succeeds for renew_deadline it stops
//     leading (on_stopped_leading) and Run returns: it must assume another member took over.
//   - On stop while leading, with release_on_cancel, it clears the holder so that a successor
//     need not wait for the lease to expire.
// renew_deadline < lease_duration keeps an old leader from acting after a successor started.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <stop_token>
#include <string>

#include "operator/kube/client.h"

namespace kube {

struct LeaderElectionOptions {
  std::string ns{};
  std::string name{};      // of the Lease
  std::string identity{};  // unique per candidate (pod name + random suffix)
  std::chrono::milliseconds lease_duration{15'000};
  std::chrono::milliseconds renew_deadline{10'000};
  std::chrono::milliseconds retry_period{2'000};
  bool release_on_cancel = true;
};

struct LeaderCallbacks {
  std::function<void()> on_started_leading;
  std::function<void()> on_stopped_leading;
  std::function<void(const std::string& identity)> on_new_leader;  // any change of holder seen
};

class LeaderElector {
 public:
  LeaderElector(Client& client, LeaderElectionOptions options, LeaderCallbacks callbacks);

  // Campaigns until leading, leads until the lease is lost or `stop` is requested. Blocking.
  void Run(std::stop_token stop);
  bool IsLeader() const;
  std::string ObservedLeader() const;  // the holder last seen ("" when free)

 private:
  // One attempt to take or renew the Lease. True when we hold it afterwards.
  bool TryAcquireOrRenew();
  void Release();
  void Observe(const Json& answered);  // a Lease spec as the server answered it

  Client& client_;
  const LeaderElectionOptions options_;
  const LeaderCallbacks callbacks_;
  mutable std::mutex mu_;
  Json observed_spec_;  // the Lease spec last seen
  std::string observed_version_;  // its resourceVersion
  std::chrono::steady_clock::time_point observed_at_;  // when it last changed, on our clock
  bool leading_ = false;
};

}  // namespace kube
