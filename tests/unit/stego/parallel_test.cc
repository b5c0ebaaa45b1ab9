#include "worker/stego/parallel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "common/thread_priority.h"

namespace stego {
namespace {

TEST(ParallelFor, RunsEveryIndexExactlyOnce) {
  for (size_t count : {size_t{0}, size_t{1}, size_t{2}, size_t{1000}}) {
    std::vector<std::atomic<int>> runs(count);
    ParallelFor(count, [&](size_t i) { runs[i].fetch_add(1); });
    for (size_t i = 0; i < count; ++i) ASSERT_EQ(runs[i].load(), 1) << "index " << i << " of " << count;
  }
  EXPECT_GE(ParallelismDegree(), 1);
}

TEST(ParallelFor, NestedCallsFinishBecauseCallersTakeTasksToo) {
  std::atomic<int> inner{0};
  ParallelFor(8, [&](size_t) { ParallelFor(8, [&](size_t) { inner.fetch_add(1); }); });
  EXPECT_EQ(inner.load(), 64);
}

TEST(ParallelFor, ManyCallersAtOnce) {
  std::atomic<int> total{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 8; ++t) {
    callers.emplace_back([&] {
      for (int round = 0; round < 50; ++round) ParallelFor(16, [&](size_t) { total.fetch_add(1); });
    });
  }
  for (std::thread& t : callers) t.join();
  EXPECT_EQ(total.load(), 8 * 50 * 16);
}

TEST(ParallelFor, HelpersNeverRunAtAHigherPriorityThanTheCaller) {
  std::vector<int> nice_seen(32, -100);
  int caller_nice = 0;
  std::thread caller([&] {
    // A lowered compute thread (worker/http/compute_pool.h) asks for help.
    ASSERT_TRUE(common::RaiseCurrentThreadNice(std::min(common::CurrentThreadNice() + 2, 19)));
    caller_nice = common::CurrentThreadNice();
    ParallelFor(nice_seen.size(), [&](size_t i) {
      nice_seen[i] = common::CurrentThreadNice();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));  // long enough for a helper to join in
    });
  });
  caller.join();
  for (size_t i = 0; i < nice_seen.size(); ++i) EXPECT_GE(nice_seen[i], caller_nice) << "task " << i;
}

}  // namespace
}  // namespace stego
