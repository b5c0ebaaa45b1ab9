// WorkQueue: the rate-limited queue of object keys between informers and reconcilers, with
// client-go's workqueue semantics:
//   - A key is queued at most once (dirty set). A key being processed (between Get and Done) is
//     never handed to a second worker; adding it meanwhile re-queues it when Done is called.
//   - AddAfter delays a key (the earliest of several delays wins); AddRateLimited delays it by the
//     RateLimiter: per-key exponential back-off (base_delay * 2^failures, up to max_delay) and a
//     global token bucket (qps, burst), whichever is longer. Forget clears a key's failures after
//     it succeeded.
//   - ShutDown: new adds are ignored and delayed keys dropped; Get hands out what is still queued,
//     then returns nullopt to every worker.
// Time comes from an injected Clock, so the queue is pure and tested without sleeping. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

namespace kube {

class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
};

class SteadyClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
};

struct RateLimiterOptions {
  std::chrono::nanoseconds base_delay{std::chrono::milliseconds(5)};  // client-go's controller defaults
  std::chrono::nanoseconds max_delay{std::chrono::seconds(1000)};
  double qps = 10;
  double burst = 100;
};

// Not thread-safe on its own: the WorkQueue calls it under its lock.
class RateLimiter {
 public:
  RateLimiter(const Clock& clock, RateLimiterOptions options);
  // How long to wait before `key` may be processed again; counts one more failure for it.
  std::chrono::nanoseconds When(const std::string& key);
  void Forget(const std::string& key) { failures_.erase(key); }
  int NumRequeues(const std::string& key) const;

 private:
  const Clock& clock_;
  const RateLimiterOptions options_;
  std::map<std::string, int> failures_;
  double tokens_;
  Clock::TimePoint last_;
};

class WorkQueue {
 public:
  explicit WorkQueue(const Clock& clock, RateLimiterOptions options = {});

  void Add(const std::string& key);
  void AddAfter(const std::string& key, std::chrono::nanoseconds delay);
  void AddRateLimited(const std::string& key);
  void Forget(const std::string& key);
  int NumRequeues(const std::string& key) const;

  // Blocks until a key is ready (returns it, now "processing") or the queue is shut down and
  // drained (nullopt). Delayed keys become ready by the Clock; the wait itself uses real time.
  std::optional<std::string> Get();
  // The same without blocking: nullopt when no key is ready now.
  std::optional<std::string> TryGet();
  void Done(const std::string& key);

  void ShutDown();
  bool ShuttingDown() const;
  std::size_t Len() const;  // keys queued for Get; delayed keys count once due and seen by a Get

 private:
  void AddLocked(const std::string& key);
  void PromoteReadyLocked();
  std::optional<std::string> PopLocked();

  const Clock& clock_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  std::set<std::string> dirty_;       // queued or to be re-queued after Done
  std::set<std::string> processing_;  // handed out by Get, not yet Done
  std::map<std::string, Clock::TimePoint> waiting_;  // delayed keys and when they become ready
  RateLimiter limiter_;
  bool shutting_down_ = false;
};

}  // namespace kube
