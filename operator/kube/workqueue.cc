#include "operator/kube/workqueue.h"

#include <algorithm>
#include <cmath>

namespace kube {

RateLimiter::RateLimiter(const Clock& clock, RateLimiterOptions options)
    : clock_(clock), options_(options), tokens_(options.burst), last_(clock.Now()) {}

std::chrono::nanoseconds RateLimiter::When(const std::string& key) {
  const int failures = failures_[key]++;
  // base * 2^failures, computed in double so a long failure streak cannot overflow.
  const double backoff_ns = std::min(
      static_cast<double>(options_.base_delay.count()) * std::pow(2.0, failures),
      static_cast<double>(options_.max_delay.count()));

  // Token bucket: refill since the last reservation, take one token; a negative balance is a debt
  // paid off at qps, and its size is this reservation's delay.
  const auto now = clock_.Now();
  const double elapsed_s = std::chrono::duration<double>(now - last_).count();
  last_ = now;
  tokens_ = std::min(options_.burst, tokens_ + elapsed_s * options_.qps) - 1.0;
  const double bucket_ns = tokens_ >= 0 ? 0.0 : -tokens_ / options_.qps * 1e9;

  return std::chrono::nanoseconds(static_cast<std::int64_t>(std::max(backoff_ns, bucket_ns)));
}

int RateLimiter::NumRequeues(const std::string& key) const {
  const auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

WorkQueue::WorkQueue(const Clock& clock, RateLimiterOptions options) : clock_(clock), limiter_(clock, options) {}

void WorkQueue::AddLocked(const std::string& key) {
  if (shutting_down_ || dirty_.count(key)) return;
  dirty_.insert(key);
  if (processing_.count(key)) return;  // Done re-queues it
  queue_.push_back(key);
  cv_.notify_one();
}

void WorkQueue::Add(const std::string& key) {
  std::lock_guard lock(mu_);
  AddLocked(key);
}

void WorkQueue::AddAfter(const std::string& key, std::chrono::nanoseconds delay) {
  std::lock_guard lock(mu_);
  if (shutting_down_) return;
  if (delay <= std::chrono::nanoseconds(0)) {
    AddLocked(key);
    return;
  }
  const auto ready = clock_.Now() + std::chrono::duration_cast<Clock::TimePoint::duration>(delay);
  const auto [it, inserted] = waiting_.emplace(key, ready);
  if (!inserted && ready < it->second) it->second = ready;
  cv_.notify_all();  // a waiting Get may have to wake earlier
}

void WorkQueue::AddRateLimited(const std::string& key) {
  std::chrono::nanoseconds delay;
  {
    std::lock_guard lock(mu_);
    if (shutting_down_) return;
    delay = limiter_.When(key);
  }
  AddAfter(key, delay);
}

void WorkQueue::Forget(const std::string& key) {
  std::lock_guard lock(mu_);
  limiter_.Forget(key);
}

int WorkQueue::NumRequeues(const std::string& key) const {
  std::lock_guard lock(mu_);
  return limiter_.NumRequeues(key);
}

void WorkQueue::PromoteReadyLocked() {
  const auto now = clock_.Now();
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if (it->second <= now) {
      AddLocked(it->first);
      it = waiting_.erase(it);
    } else {
      ++it;
    }
  }
}

std::optional<std::string> WorkQueue::PopLocked() {
  PromoteReadyLocked();
  if (queue_.empty()) return std::nullopt;
  std::string key = std::move(queue_.front());
  queue_.pop_front();
  processing_.insert(key);
  dirty_.erase(key);
  return key;
}

std::optional<std::string> WorkQueue::TryGet() {
  std::lock_guard lock(mu_);
  return PopLocked();
}

std::optional<std::string> WorkQueue::Get() {
  std::unique_lock lock(mu_);
  for (;;) {
    if (auto key = PopLocked()) return key;
    if (shutting_down_) return std::nullopt;
    if (waiting_.empty()) {
      cv_.wait(lock);
    } else {
      auto next = waiting_.begin()->second;
      for (const auto& [key, ready] : waiting_) next = std::min(next, ready);
      cv_.wait_for(lock, next - clock_.Now());
    }
  }
}

void WorkQueue::Done(const std::string& key) {
  std::lock_guard lock(mu_);
  processing_.erase(key);
  if (dirty_.count(key)) {
    queue_.push_back(key);
    cv_.notify_one();
  }
}

void WorkQueue::ShutDown() {
  std::lock_guard lock(mu_);
  shutting_down_ = true;
  waiting_.clear();
  cv_.notify_all();
}

bool WorkQueue::ShuttingDown() const {
  std::lock_guard lock(mu_);
  return shutting_down_;
}

std::size_t WorkQueue::Len() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

}  // namespace kube
