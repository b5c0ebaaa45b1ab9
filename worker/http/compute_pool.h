// ComputePool: a fixed set of threads draining a bounded FIFO of jobs.
//
// The bound is the point: when every thread is busy and `capacity` jobs already wait, TrySubmit()
// refuses instead of queueing, so a burst of uploads turns into fast 503s rather than unbounded
// memory. The server uses it for compute routes; it knows nothing of HTTP.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace http {

class ComputePool {
 public:
  // Observers called with the new queue depth / number of running jobs (metrics gauges); may be
  // empty. They run under the pool's lock, so they must be cheap and must not call the pool.
  struct Observers {
    std::function<void(std::size_t)> queue_depth;
    std::function<void(std::size_t)> active;
  };

  ComputePool(std::size_t threads, std::size_t capacity, Observers observers = {});
  ~ComputePool();  // Shutdown()
  ComputePool(const ComputePool&) = delete;
  ComputePool& operator=(const ComputePool&) = delete;

  // Queues `job` unless `capacity` jobs are already waiting (or the pool is shut down).
  bool TrySubmit(std::function<void()> job);

  // True when a TrySubmit() now would be refused (a hint: another thread may race).
  bool Full() const;
  std::size_t QueueDepth() const;
  std::size_t Active() const { return active_.load(std::memory_order_relaxed); }
  std::size_t capacity() const { return capacity_; }
  std::size_t threads() const { return threads_.size(); }

  // Runs the jobs already queued, then joins the threads. Idempotent; call from one thread.
  void Shutdown();

 private:
  void Loop();

  const std::size_t capacity_;
  Observers observers_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;  // guarded by mu_; size() <= capacity_
  bool stopping_ = false;                    // guarded by mu_
  std::atomic<std::size_t> active_{0};
  std::vector<std::thread> threads_;
};

}  // namespace http
