// MemberProber: keeps the operator's view of every member current by asking each member pod for its
// Raft view (GET /raft/status on the pod's HTTP port) every `interval`, one thread per pod, and
// calls on_change(cluster key) as soon as a member's role, term, voters, learners or reachability changes
// (the applied index alone, which moves with every write, does not count).
//
// Why a short poll and not a watch: the worker answers /raft/status from memory on its IO threads
// in well under a millisecond, so ten polls a second per member cost nothing measurable
// (docs/operator.md), while a long-poll would hold one of the worker's few IO threads per watcher.
// What the poll buys is the leader label's lag: a change is seen at most one interval after the
// member itself knows it, with no watch to re-establish when a pod restarts.
//
// Thread-safe. on_change runs on a probing thread and must be quick (it adds a key to the queue).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "operator/members/raft_view.h"

namespace stegocluster::members {

// A member pod to probe: its name and its address (the pod IP; a new address is a new pod).
struct Target {
  std::string pod;
  std::string ip;
};

class MemberProber {
 public:
  // The member's view, or nullopt when it does not answer with one.
  using Fetch = std::function<std::optional<RaftView>()>;
  // A Fetch for the member at `ip`, made once per probe (it may keep a connection).
  using Connect = std::function<Fetch(const std::string& ip)>;
  using OnChange = std::function<void(const std::string& cluster)>;

  MemberProber(Connect connect, std::chrono::milliseconds interval, OnChange on_change);
  ~MemberProber();  // stops every probe
  MemberProber(const MemberProber&) = delete;
  MemberProber& operator=(const MemberProber&) = delete;

  // Probes exactly `targets` for `cluster` from now on (starts new ones, stops the rest).
  void Track(const std::string& cluster, const std::vector<Target>& targets);
  void Forget(const std::string& cluster) { Track(cluster, {}); }
  // The last view of `pod` of `cluster`; nullopt when not probed yet or it did not answer.
  std::optional<RaftView> View(const std::string& cluster, const std::string& pod) const;
  // Whether `pod` has been probed at least once since it was tracked (answered or not).
  bool Probed(const std::string& cluster, const std::string& pod) const;

 private:
  class Probe;
  const Connect connect_;
  const std::chrono::milliseconds interval_;
  const OnChange on_change_;
  mutable std::mutex mu_;
  std::map<std::string, std::map<std::string, std::unique_ptr<Probe>>> probes_;  // cluster → pod → probe
};

// Over HTTP: GET http://<ip>:<port>/raft/status, bounded by `timeout`, on one kept connection.
MemberProber::Connect HttpConnect(int port, std::chrono::milliseconds timeout);

}  // namespace stegocluster::members
