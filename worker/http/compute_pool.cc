#include "worker/http/compute_pool.h"

namespace http {

ComputePool::ComputePool(std::size_t threads, std::size_t capacity, Observers observers)
    : capacity_(capacity), observers_(std::move(observers)) {
  if (threads == 0) threads = 1;
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
}

ComputePool::~ComputePool() { Shutdown(); }

bool ComputePool::TrySubmit(std::function<void()> job) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || queue_.size() >= capacity_) return false;
    queue_.push_back(std::move(job));
    // Under the lock so concurrent updates reach the gauge in order.
    if (observers_.queue_depth) observers_.queue_depth(queue_.size());
  }
  cv_.notify_one();
  return true;
}

bool ComputePool::Full() const {
  std::lock_guard lock(mu_);
  return stopping_ || queue_.size() >= capacity_;
}

std::size_t ComputePool::QueueDepth() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

void ComputePool::Shutdown() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void ComputePool::Loop() {
  while (true) {
    std::function<void()> job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      job = std::move(queue_.front());
      queue_.pop_front();
      if (observers_.queue_depth) observers_.queue_depth(queue_.size());
      const std::size_t active = active_.fetch_add(1, std::memory_order_relaxed) + 1;
      if (observers_.active) observers_.active(active);
    }
    job();  // jobs must not throw: the server wraps handlers
    job = nullptr;  // release what the job captured before counting it done
    std::lock_guard lock(mu_);
    const std::size_t active = active_.fetch_sub(1, std::memory_order_relaxed) - 1;
    if (observers_.active) observers_.active(active);
  }
}

}  // namespace http
