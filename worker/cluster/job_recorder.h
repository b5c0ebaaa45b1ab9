// JobRecorder: takes this member's job records from the request handlers and proposes them to
// the job ledger (job_ledger.h) in batches, off the requests' critical path.
//
// Record() is a mutex-protected push: a request never waits for Raft. A background thread
// proposes what is waiting every `interval`, or at once when `batch` records are waiting. A
// proposal that fails (no leader, timeout, a paused member) keeps its batch, which is proposed
// again after `interval`; the ledger skips records it already holds, so a retried batch that did
// commit the first time counts nothing twice.
//
// Bounded memory: at most `capacity` records wait, plus the batch being proposed. When the buffer
// is full the oldest waiting record is dropped and counted in stego_job_records_dropped_total, as
// is a record given after Stop().
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics.h"
#include "worker/cluster/job_ledger.h"

namespace cluster {

struct JobRecorderOptions {
  std::string member{};  // written into every record: who computed it
  std::size_t capacity = 4096;
  std::size_t batch = 256;
  std::chrono::milliseconds interval{200};
};

class JobRecorder {
 public:
  // Commits a command: true once it is applied here. Waits until then, or until `give_up`
  // (asked while waiting) says to stop (ClusterMember::Commit in the worker).
  using Commit = std::function<bool(std::string command, const std::function<bool()>& give_up)>;

  JobRecorder(JobRecorderOptions options, Commit commit, common::Metrics& metrics);
  ~JobRecorder();  // Stop()

  // Sets the record's member and queues it. Never blocks beyond a short lock.
  void Record(JobRecord job);

  // Proposes what is waiting for at most `deadline`, then stops the thread; whatever could not
  // be committed by then is dropped and counted. Call it while the Raft node still runs (before
  // ClusterMember::Stop). Idempotent.
  void Stop(std::chrono::milliseconds deadline = std::chrono::seconds(1));

 private:
  void Loop();
  // Proposes `batch`; true once it is applied. Gives up early when stopping past the deadline.
  bool Send(const std::vector<JobRecord>& batch);
  bool PastDeadline() const;  // mu_ held

  const JobRecorderOptions options_;
  const Commit commit_;
  common::Counter& dropped_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::deque<JobRecord> waiting_;  // oldest first
  bool stopping_ = false;
  bool closed_ = false;  // the thread has ended: records are dropped
  std::chrono::steady_clock::time_point deadline_;  // once stopping_
  std::thread thread_;
};

}  // namespace cluster
