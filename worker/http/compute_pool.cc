#include "worker/http/compute_pool.h"

#include <utility>

#include "common/thread_priority.h"

namespace http {

bool MemoryBudget::TryCharge(std::uint64_t bytes) {
  std::uint64_t used = in_use_.load(std::memory_order_relaxed);
  do {
    if (bytes > limit_ || used > limit_ - bytes) return false;
  } while (!in_use_.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed));
  return true;
}

void MemoryBudget::Release(std::uint64_t bytes) { in_use_.fetch_sub(bytes, std::memory_order_relaxed); }

bool MemoryBudget::Fits(std::uint64_t bytes) const {
  return bytes <= limit_ && in_use() <= limit_ - bytes;
}

std::optional<MemoryCharge> MemoryCharge::Take(std::shared_ptr<MemoryBudget> budget, std::uint64_t bytes) {
  MemoryCharge charge;
  if (!budget) return charge;
  if (!budget->TryCharge(bytes)) return std::nullopt;
  charge.budget_ = std::move(budget);
  charge.bytes_ = bytes;
  return charge;
}

MemoryCharge::MemoryCharge(MemoryCharge&& other) noexcept
    : budget_(std::move(other.budget_)), bytes_(std::exchange(other.bytes_, 0)) {}

MemoryCharge& MemoryCharge::operator=(MemoryCharge&& other) noexcept {
  if (this != &other) {
    if (budget_) budget_->Release(bytes_);
    budget_ = std::move(other.budget_);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

MemoryCharge::~MemoryCharge() {
  if (budget_) budget_->Release(bytes_);
}

ComputePool::ComputePool(Options options, Observers observers)
    : max_waiting_(options.max_waiting), budget_(std::move(options.budget)), observers_(std::move(observers)) {
  const std::size_t threads = options.threads == 0 ? 1 : options.threads;
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this, nice = options.nice] { Loop(nice); });
}

ComputePool::~ComputePool() { Shutdown(); }

ComputePool::Admission ComputePool::CheckLocked(std::uint64_t bytes, std::uint64_t held) const {
  if (stopping_) return Admission::kStopping;
  if (budget_ && bytes > budget_->limit()) return Admission::kTooLarge;
  if (queue_.size() >= max_waiting_) return Admission::kQueueFull;
  if (budget_ && bytes > held && !budget_->Fits(bytes - held)) return Admission::kOverBudget;
  return Admission::kAdmitted;
}

ComputePool::Admission ComputePool::Check(std::uint64_t bytes) const {
  std::lock_guard lock(mu_);
  return CheckLocked(bytes);
}

ComputePool::Admission ComputePool::TrySubmit(std::function<void()> job, std::uint64_t bytes, MemoryCharge held) {
  {
    std::lock_guard lock(mu_);
    const std::uint64_t already = held.budget_ && held.budget_ == budget_ ? held.bytes_ : 0;
    if (const Admission a = CheckLocked(bytes, already); a != Admission::kAdmitted) return a;
    // The budget may be shared with another pool, so Fits() above was only a hint.
    if (budget_ && bytes > already && !budget_->TryCharge(bytes - already)) return Admission::kOverBudget;
    if (already > bytes) budget_->Release(already - bytes);
    if (already > 0) {
      held.budget_.reset();  // the job owns it now
      held.bytes_ = 0;
    }
    queue_.push_back({std::move(job), budget_ ? bytes : 0});
    // Under the lock so concurrent updates reach the gauges in order.
    if (observers_.queue_depth) observers_.queue_depth(queue_.size());
    ReportMemory();
  }
  cv_.notify_one();
  return Admission::kAdmitted;
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

void ComputePool::ReportMemory() {
  if (budget_ && observers_.memory_in_use) observers_.memory_in_use(budget_->in_use());
}

void ComputePool::Loop(int nice) {
  // Best effort: a refusal leaves the thread at its priority.
  if (nice > 0) common::RaiseCurrentThreadNice(common::CurrentThreadNice() + nice);
  while (true) {
    Job job;
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
    job.run();  // jobs must not throw: the server wraps handlers
    job.run = nullptr;  // release what the job captured (its request) before returning its charge
    std::lock_guard lock(mu_);
    if (budget_) budget_->Release(job.bytes);
    ReportMemory();
    const std::size_t active = active_.fetch_sub(1, std::memory_order_relaxed) - 1;
    if (observers_.active) observers_.active(active);
  }
}

}  // namespace http
