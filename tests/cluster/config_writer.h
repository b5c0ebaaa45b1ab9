// ConfigWriter: a client thread for the cluster tests that keeps writing the configuration while
// members fail, and remembers what was acknowledged.
#pragma once

#include <atomic>
#include <chrono>
#include <exception>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/cluster/cluster_fixture.h"

namespace clustertest {

// One writer raising max_pixels 1001, 1002, ... through the given members in turn. Values only
// grow, so "every acknowledged write took effect" reads as "every member holds at least the last
// acknowledged value". An unacknowledged value is never retried: it may or may not take effect.
class ConfigWriter {
 public:
  using Clock = std::chrono::steady_clock;

  struct Outcome {
    std::string target;
    int status = 0;  // 0: no HTTP answer
    Clock::time_point sent, answered;
  };

  ConfigWriter(const std::map<std::string, std::uint16_t>& ports, std::vector<std::string> targets)
      : ports_(ports), targets_(std::move(targets)), thread_([this] { Run(); }) {}
  ~ConfigWriter() { Stop(); }

  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int last_acked() const { return last_acked_; }
  // Answers from `target` to the writes sent to it since `since`.
  std::vector<Outcome> From(const std::string& target, Clock::time_point since) const {
    std::lock_guard lk(mu_);
    std::vector<Outcome> out;
    for (const auto& o : outcomes_) {
      if (o.target == target && o.sent >= since) out.push_back(o);
    }
    return out;
  }
  int AckedSince(Clock::time_point since) const {
    std::lock_guard lk(mu_);
    int n = 0;
    for (const auto& o : outcomes_) n += o.sent >= since && o.status == 200;
    return n;
  }

 private:
  void Run() {
    for (int next = 1; !stop_; ++next) {
      Outcome o{targets_[static_cast<std::size_t>(next) % targets_.size()], 0, Clock::now(), {}};
      try {
        HttpClient c("127.0.0.1", ports_.at(o.target), 10s);
        o.status = c.Request("PUT", "/api/v1/config", json{{"max_pixels", 1000 + next}}.dump(), kAdmin).status;
      } catch (const std::exception&) {
      }
      o.answered = Clock::now();
      if (o.status == 200) last_acked_ = next;
      std::lock_guard lk(mu_);
      outcomes_.push_back(std::move(o));
    }
  }

  const std::map<std::string, std::uint16_t> ports_;
  const std::vector<std::string> targets_;
  std::atomic<bool> stop_ = false;
  std::atomic<int> last_acked_ = 0;
  mutable std::mutex mu_;
  std::vector<Outcome> outcomes_;
  std::thread thread_;  // last: starts once the rest is built
};

}  // namespace clustertest
