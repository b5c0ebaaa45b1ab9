#include "worker/stego/parallel.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/thread_priority.h"

namespace stego {
namespace {

// One ParallelFor call. Pool threads may still hold it after the call returned; by then every index
// is claimed, so they never touch `task` (which lives in the caller's frame) again.
struct Batch {
  const std::function<void(size_t)>* task;
  size_t count;
  int caller_nice = 0;
  std::atomic<size_t> next{0};
  std::atomic<size_t> finished{0};
  std::mutex mutex;
  std::condition_variable all_finished;

  void RunClaims() {
    size_t ran = 0;
    for (size_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < count; ++ran) (*task)(i);
    if (ran != 0 && finished.fetch_add(ran, std::memory_order_acq_rel) + ran == count) {
      std::lock_guard lock(mutex);
      all_finished.notify_all();
    }
  }

  void Wait() {
    std::unique_lock lock(mutex);
    all_finished.wait(lock, [this] { return finished.load(std::memory_order_acquire) == count; });
  }
};

class Pool {
 public:
  explicit Pool(int threads) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
  }

  ~Pool() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : threads_) t.join();
  }

  int size() const { return static_cast<int>(threads_.size()); }

  // Offers the batch to up to `helpers` idle pool threads.
  void Offer(const std::shared_ptr<Batch>& batch, size_t helpers) {
    {
      std::lock_guard lock(mutex_);
      for (size_t i = 0; i < helpers; ++i) offers_.push_back(batch);
    }
    wake_.notify_all();
  }

 private:
  void Loop() {
    int nice = common::CurrentThreadNice();
    for (;;) {
      std::shared_ptr<Batch> batch;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [this] { return stopping_ || !offers_.empty(); });
        if (stopping_) return;
        batch = std::move(offers_.front());
        offers_.pop_front();
      }
      // Never help at a higher priority than the caller: a compute thread lowered so as not to
      // starve the process's latency-critical threads (the Raft node) must not regain its
      // priority through its helpers. Raising the nice value needs no privilege; lowering it back
      // would, so a helper keeps the lowest priority it has seen.
      if (batch->caller_nice > nice && common::RaiseCurrentThreadNice(batch->caller_nice)) nice = batch->caller_nice;
      batch->RunClaims();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Batch>> offers_;  // guarded by mutex_
  bool stopping_ = false;                      // guarded by mutex_
  std::vector<std::thread> threads_;
};

Pool& SharedPool() {
  static Pool pool(std::max(1, static_cast<int>(std::thread::hardware_concurrency())) - 1);
  return pool;
}

}  // namespace

int ParallelismDegree() { return SharedPool().size() + 1; }

void ParallelFor(size_t count, const std::function<void(size_t)>& task) {
  auto batch = std::make_shared<Batch>();
  batch->task = &task;
  batch->count = count;
  batch->caller_nice = common::CurrentThreadNice();
  const size_t helpers = std::min(static_cast<size_t>(SharedPool().size()), count > 0 ? count - 1 : 0);
  if (helpers > 0) SharedPool().Offer(batch, helpers);
  batch->RunClaims();
  batch->Wait();
}

}  // namespace stego
