#include "worker/cluster/job_recorder.h"

#include <utility>

#include <spdlog/spdlog.h>

namespace cluster {

JobRecorder::JobRecorder(JobRecorderOptions options, Commit commit, common::Metrics& metrics)
    : options_(std::move(options)),
      commit_(std::move(commit)),
      dropped_(metrics.GetCounter("stego_job_records_dropped_total",
                                  "Job records that never reached the job ledger: the member's buffer was full "
                                  "(no leader for a long time) or the member was stopping.")),
      thread_([this] { Loop(); }) {}

JobRecorder::~JobRecorder() { Stop(); }

void JobRecorder::Record(JobRecord job) {
  job.member = options_.member;
  std::lock_guard lk(mu_);
  if (closed_) return dropped_.Inc();
  if (waiting_.size() >= options_.capacity) {
    waiting_.pop_front();
    dropped_.Inc();
  }
  waiting_.push_back(std::move(job));
  if (waiting_.size() >= options_.batch) wake_.notify_one();
}

void JobRecorder::Stop(std::chrono::milliseconds deadline) {
  {
    std::lock_guard lk(mu_);
    if (!stopping_) {
      stopping_ = true;
      deadline_ = std::chrono::steady_clock::now() + deadline;
    }
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool JobRecorder::PastDeadline() const { return stopping_ && std::chrono::steady_clock::now() >= deadline_; }

void JobRecorder::Loop() {
  std::vector<JobRecord> batch;  // taken from waiting_, kept until it is applied
  bool failing = false;          // to log a failure streak once, not every interval
  std::unique_lock lk(mu_);
  for (;;) {
    // A full batch goes at once, and everything when stopping; after a failure, only the next
    // interval (or the stop deadline) ends the wait.
    wake_.wait_for(lk, options_.interval, [&] {
      return PastDeadline() || (!failing && (stopping_ || waiting_.size() >= options_.batch));
    });
    if (stopping_ && ((batch.empty() && waiting_.empty()) || PastDeadline())) break;
    while (batch.size() < options_.batch && !waiting_.empty()) {
      batch.push_back(std::move(waiting_.front()));
      waiting_.pop_front();
    }
    if (batch.empty()) continue;
    lk.unlock();
    const bool applied = Send(batch);
    lk.lock();
    if (applied) {
      batch.clear();
      if (std::exchange(failing, false)) spdlog::info("jobs: records reach the ledger again");
    } else if (!std::exchange(failing, true)) {
      spdlog::warn("jobs: cannot reach the ledger; records wait and are retried");
    }
  }
  if (const std::size_t lost = batch.size() + waiting_.size(); lost > 0) {
    spdlog::warn("jobs: {} records dropped on stop", lost);
    dropped_.Inc(static_cast<double>(lost));
  }
  waiting_.clear();
  closed_ = true;
}

bool JobRecorder::Send(const std::vector<JobRecord>& batch) {
  // A proposal may take the node's whole request timeout; Stop() must not wait that long.
  return commit_(EncodeJobBatch(batch), [this] {
    std::lock_guard lk(mu_);
    return PastDeadline();
  });
}

}  // namespace cluster
