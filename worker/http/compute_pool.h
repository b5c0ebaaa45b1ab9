// ComputePool: a fixed set of threads draining a FIFO of jobs, admitted by the memory they may use.
//
// Every job is submitted with its charge: the bytes it may hold from the moment it is queued until
// it has finished (the server charges a request's body plus its route's working-set estimate).
// The pool admits a job only while the charges of every admitted job, queued or running, fit in a
// MemoryBudget, which several pools may share (the worker's API and peer servers share one). So a
// burst of clients queues as long as memory allows, and is refused (TrySubmit answers why) only
// when admitting more would put the process's memory at risk. A hard cap on the number of waiting
// jobs remains, as a second bound. The pool knows nothing of HTTP.
//
// Threads can be started at a lower CPU priority (`nice`): compute is throughput work, and must not
// delay the latency-critical threads of the same process (the Raft node and its peer transport,
// docs/raft.md "Liveness under CPU load").
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

namespace http {

// Bytes that admitted jobs may use, shared by the pools that draw on it. Thread-safe.
class MemoryBudget {
 public:
  explicit MemoryBudget(std::uint64_t limit_bytes) : limit_(limit_bytes) {}
  MemoryBudget(const MemoryBudget&) = delete;
  MemoryBudget& operator=(const MemoryBudget&) = delete;

  // Adds `bytes` to the bytes in use unless that would exceed the limit.
  bool TryCharge(std::uint64_t bytes);
  void Release(std::uint64_t bytes);
  // True when a TryCharge(bytes) now would succeed (a hint: another thread may race).
  bool Fits(std::uint64_t bytes) const;

  std::uint64_t limit() const { return limit_; }
  std::uint64_t in_use() const { return in_use_.load(std::memory_order_relaxed); }

 private:
  const std::uint64_t limit_;
  std::atomic<std::uint64_t> in_use_{0};
};

// Bytes held of a MemoryBudget from Take() until destroyed, or handed over with a job to a pool
// (ComputePool::TrySubmit), so that what a request holds before its job is queued (its body, while
// it is read) is counted too. Movable.
class MemoryCharge {
 public:
  MemoryCharge() = default;
  // Charges `bytes` to `budget` if they fit; with no budget, an empty charge that always fits.
  static std::optional<MemoryCharge> Take(std::shared_ptr<MemoryBudget> budget, std::uint64_t bytes);
  MemoryCharge(MemoryCharge&& other) noexcept;
  MemoryCharge& operator=(MemoryCharge&& other) noexcept;
  ~MemoryCharge();

  std::uint64_t bytes() const { return bytes_; }

 private:
  friend class ComputePool;
  std::shared_ptr<MemoryBudget> budget_;
  std::uint64_t bytes_ = 0;
};

// Observers called with the new queue depth / number of running jobs / budget bytes in use
// (metrics gauges); may be empty. They run under the pool's lock, so they must be cheap and must
// not call the pool.
struct ComputePoolObservers {
  std::function<void(std::size_t)> queue_depth{};
  std::function<void(std::size_t)> active{};
  std::function<void(std::uint64_t)> memory_in_use{};
};

struct ComputePoolOptions {
  std::size_t threads = 1;
  std::size_t max_waiting = 256;           // jobs allowed to wait for a thread (a hard count cap)
  std::shared_ptr<MemoryBudget> budget{};  // null: no memory bound
  int nice = 0;                            // added to the threads' nice value; 0: unchanged
};

class ComputePool {
 public:
  // (Defined outside the class: a nested struct with member initializers cannot be a default
  // argument of the enclosing class's constructor.)
  using Observers = ComputePoolObservers;
  using Options = ComputePoolOptions;

  // Why a job was or would be refused.
  enum class Admission {
    kAdmitted,
    kOverBudget,  // admitted jobs hold too much of the budget now: retry later
    kTooLarge,    // the job's charge alone exceeds the whole budget: it can never be admitted
    kQueueFull,   // max_waiting jobs already wait
    kStopping,
  };

  ComputePool(Options options, Observers observers = {});
  ComputePool(std::size_t threads, std::size_t max_waiting, Observers observers = {})
      : ComputePool(Options{.threads = threads, .max_waiting = max_waiting}, std::move(observers)) {}
  ~ComputePool();  // Shutdown()
  ComputePool(const ComputePool&) = delete;
  ComputePool& operator=(const ComputePool&) = delete;

  // Queues `job`, charging `bytes` to the budget until it has run and been destroyed. What `held`
  // holds of this pool's budget counts towards `bytes` (only the rest is charged, any surplus is
  // given back); admitted, the job owns it, refused, it is released.
  Admission TrySubmit(std::function<void()> job, std::uint64_t bytes = 0, MemoryCharge held = {});

  // What TrySubmit(…, bytes) would answer now (a hint: another thread may race).
  Admission Check(std::uint64_t bytes = 0) const;
  bool Full() const { return Check() != Admission::kAdmitted; }
  std::size_t QueueDepth() const;
  std::size_t Active() const { return active_.load(std::memory_order_relaxed); }
  std::size_t capacity() const { return max_waiting_; }
  std::size_t threads() const { return threads_.size(); }
  const MemoryBudget* budget() const { return budget_.get(); }

  // Runs the jobs already queued, then joins the threads. Idempotent; call from one thread.
  void Shutdown();

 private:
  struct Job {
    std::function<void()> run;
    std::uint64_t bytes = 0;
  };

  Admission CheckLocked(std::uint64_t bytes, std::uint64_t held = 0) const;  // mu_ held
  void Loop(int nice);
  void ReportMemory();

  const std::size_t max_waiting_;
  const std::shared_ptr<MemoryBudget> budget_;
  Observers observers_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;  // guarded by mu_; size() <= max_waiting_
  bool stopping_ = false;  // guarded by mu_
  std::atomic<std::size_t> active_{0};
  std::vector<std::thread> threads_;
};

}  // namespace http
