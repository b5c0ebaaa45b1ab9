// The rate-limited work queue, driven by a fake clock: dedup, processing exclusivity, delays,
// per-key back-off, the token bucket and shutdown.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "operator/kube/watch.h"
#include "operator/kube/workqueue.h"

namespace {

using namespace std::chrono_literals;

class FakeClock final : public kube::Clock {
 public:
  TimePoint Now() const override { return now_; }
  void Advance(std::chrono::nanoseconds d) { now_ += std::chrono::duration_cast<TimePoint::duration>(d); }

 private:
  TimePoint now_{};
};

TEST(WorkQueueTest, AKeyIsQueuedOnceAndInOrder) {
  FakeClock clock;
  kube::WorkQueue q(clock);
  q.Add("a");
  q.Add("b");
  q.Add("a");
  EXPECT_EQ(q.Len(), 2u);
  EXPECT_EQ(q.TryGet(), "a");
  EXPECT_EQ(q.TryGet(), "b");
  EXPECT_EQ(q.TryGet(), std::nullopt);
}

TEST(WorkQueueTest, AKeyAddedWhileProcessingIsRequeuedOnDone) {
  FakeClock clock;
  kube::WorkQueue q(clock);
  q.Add("a");
  ASSERT_EQ(q.TryGet(), "a");
  q.Add("a");  // changed again while a worker reconciles it
  q.Add("a");
  EXPECT_EQ(q.TryGet(), std::nullopt);  // never to a second worker at the same time
  q.Done("a");
  EXPECT_EQ(q.TryGet(), "a");
  q.Done("a");
  EXPECT_EQ(q.TryGet(), std::nullopt);
}

TEST(WorkQueueTest, AddAfterWaitsForTheClockAndTheEarliestDelayWins) {
  FakeClock clock;
  kube::WorkQueue q(clock);
  q.AddAfter("a", 10s);
  q.AddAfter("a", 2s);
  q.AddAfter("a", 5s);
  q.AddAfter("b", 0s);  // no delay: at once
  EXPECT_EQ(q.TryGet(), "b");
  clock.Advance(1999ms);
  EXPECT_EQ(q.TryGet(), std::nullopt);
  clock.Advance(1ms);
  EXPECT_EQ(q.TryGet(), "a");
  q.Done("a");
  clock.Advance(10s);
  EXPECT_EQ(q.TryGet(), std::nullopt);  // the later delays were merged into the first
}

TEST(WorkQueueTest, PerKeyBackoffDoublesUntilForgotten) {
  FakeClock clock;
  kube::RateLimiterOptions options;
  options.base_delay = 5ms;
  options.max_delay = 40ms;
  options.qps = 1e6;  // the bucket out of the way: this test is about the per-key part
  options.burst = 1e6;
  kube::RateLimiter limiter(clock, options);
  EXPECT_EQ(limiter.When("a"), 5ms);
  EXPECT_EQ(limiter.When("a"), 10ms);
  EXPECT_EQ(limiter.When("a"), 20ms);
  EXPECT_EQ(limiter.When("a"), 40ms);
  EXPECT_EQ(limiter.When("a"), 40ms);  // capped
  EXPECT_EQ(limiter.When("b"), 5ms);   // keys are independent
  EXPECT_EQ(limiter.NumRequeues("a"), 5);
  limiter.Forget("a");
  EXPECT_EQ(limiter.NumRequeues("a"), 0);
  EXPECT_EQ(limiter.When("a"), 5ms);
  for (int i = 0; i < 2000; ++i) limiter.When("many");  // no overflow on long streaks
  EXPECT_EQ(limiter.When("many"), 40ms);
}

TEST(WorkQueueTest, TokenBucketLimitsTheOverallRate) {
  FakeClock clock;
  kube::RateLimiterOptions options;
  options.base_delay = 1ns;
  options.qps = 10;
  options.burst = 3;
  kube::RateLimiter limiter(clock, options);
  // The burst passes at once (per-key delay only), then one token per 100 ms.
  EXPECT_EQ(limiter.When("k1"), 1ns);
  EXPECT_EQ(limiter.When("k2"), 1ns);
  EXPECT_EQ(limiter.When("k3"), 1ns);
  EXPECT_EQ(limiter.When("k4"), 100ms);
  EXPECT_EQ(limiter.When("k5"), 200ms);
  clock.Advance(1s);  // pays the debt of 2 and refills, but never beyond the burst
  EXPECT_EQ(limiter.When("k6"), 1ns);
  EXPECT_EQ(limiter.When("k7"), 1ns);
  EXPECT_EQ(limiter.When("k8"), 1ns);
  EXPECT_EQ(limiter.When("k9"), 100ms);
  clock.Advance(50ms);  // half a token back
  EXPECT_EQ(limiter.When("k10"), 150ms);
}

TEST(WorkQueueTest, AddRateLimitedUsesTheLimiter) {
  FakeClock clock;
  kube::WorkQueue q(clock, {.base_delay = 100ms, .max_delay = 1s, .qps = 100, .burst = 100});
  q.AddRateLimited("a");
  EXPECT_EQ(q.TryGet(), std::nullopt);
  clock.Advance(100ms);
  ASSERT_EQ(q.TryGet(), "a");
  q.Done("a");
  q.AddRateLimited("a");  // second failure: 200 ms
  clock.Advance(199ms);
  EXPECT_EQ(q.TryGet(), std::nullopt);
  clock.Advance(1ms);
  ASSERT_EQ(q.TryGet(), "a");
  EXPECT_EQ(q.NumRequeues("a"), 2);
  q.Forget("a");
  q.Done("a");
  EXPECT_EQ(q.NumRequeues("a"), 0);
}

TEST(WorkQueueTest, ShutDownDrainsThenReleasesEveryWorker) {
  FakeClock clock;
  kube::WorkQueue q(clock);
  q.Add("queued");
  q.AddAfter("delayed", 1s);
  q.ShutDown();
  EXPECT_TRUE(q.ShuttingDown());
  q.Add("late");  // ignored
  EXPECT_EQ(q.Get(), "queued");
  clock.Advance(2s);
  EXPECT_EQ(q.Get(), std::nullopt);  // delayed keys were dropped
  EXPECT_EQ(q.Get(), std::nullopt);
}

TEST(WorkQueueTest, BlockingGetWakesOnAddAndOnShutDown) {
  kube::SteadyClock clock;
  kube::WorkQueue q(clock);
  std::atomic<int> got{0};
  std::vector<std::thread> workers;
  for (int i = 0; i < 3; ++i) {
    workers.emplace_back([&] {
      while (auto key = q.Get()) {
        ++got;
        q.Done(*key);
      }
    });
  }
  q.Add("x");
  q.AddAfter("y", 20ms);  // a real delay, with the real clock
  const auto start = std::chrono::steady_clock::now();
  while (got < 2 && std::chrono::steady_clock::now() - start < 5s) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(got, 2);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 20ms);
  q.ShutDown();
  for (auto& w : workers) w.join();  // every worker returned: no one is stuck in Get
}

TEST(BackoffTest, GrowsWithJitterAndResets) {
  kube::Backoff backoff(100ms, 800ms);
  const std::chrono::milliseconds expected[] = {100ms, 200ms, 400ms, 800ms, 800ms};
  for (auto full : expected) {
    const auto d = backoff.Next();
    EXPECT_GE(d, full / 2);
    EXPECT_LE(d, full);
  }
  backoff.Reset();
  EXPECT_LE(backoff.Next(), 100ms);
}

TEST(BackoffTest, SleepForEndsEarlyWhenStopped) {
  std::stop_source stop;
  std::thread stopper([&] {
    std::this_thread::sleep_for(20ms);
    stop.request_stop();
  });
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(kube::SleepFor(10s, stop.get_token()));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  stopper.join();
  EXPECT_TRUE(kube::SleepFor(1ms, std::stop_source().get_token()));
}

}  // namespace
