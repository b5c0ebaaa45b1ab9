#include "worker/http/response.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/thread_priority.h"
#include "worker/http/compute_pool.h"
#include "worker/http/request.h"

namespace http {
namespace {

TEST(ResponseTest, ErrorHasTheStandardShapeAndExtraFields) {
  Request req;
  req.request_id = "rid-1";
  Response r = Response::Error(req, 422, "wrong_password", "wrong password", "the payload did not decrypt",
                               {{"hint", "check the key"}, {"code", "cannot override"}});
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.content_type, "application/json");
  const auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["error"], "wrong password");
  EXPECT_EQ(j["code"], "wrong_password");
  EXPECT_EQ(j["detail"], "the payload did not decrypt");
  EXPECT_EQ(j["request_id"], "rid-1");
  EXPECT_EQ(j["hint"], "check the key");
}

TEST(ResponseTest, InvalidUtf8NeverPreventsAnErrorResponse) {
  Response r = Response::Error(400, "bad", "bad filename", std::string("name \xff\xfe.png"), "rid");
  nlohmann::json j;
  ASSERT_NO_THROW(j = nlohmann::json::parse(r.body)) << r.body;
  EXPECT_EQ(j["detail"].get<std::string>().rfind("name ", 0), 0u) << r.body;
}

TEST(ResponseTest, HeadersAreCaseInsensitiveAndSetReplaces) {
  Headers h;
  h.Add("Set-Cookie", "a=1");
  h.Add("set-cookie", "b=2");
  EXPECT_EQ(h.fields().size(), 2u) << "Add keeps repeats";
  h.Set("SET-COOKIE", "c=3");
  ASSERT_EQ(h.fields().size(), 1u);
  EXPECT_EQ(h.Get("set-cookie"), "c=3");
  h.Remove("Set-Cookie");
  EXPECT_TRUE(h.empty());
  EXPECT_EQ(StatusReason(404), "Not Found");
  EXPECT_EQ(StatusReason(503), "Service Unavailable");
}

constexpr auto kAdmitted = ComputePool::Admission::kAdmitted;

TEST(ComputePoolTest, RefusesBeyondCapacityAndDrainsOnShutdown) {
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::atomic<int> done{0};
  std::atomic<int> depth_seen{0};
  ComputePool::Observers observers;
  observers.queue_depth = [&](std::size_t n) { depth_seen = static_cast<int>(n); };
  ComputePool pool(1, 2, observers);
  auto blocking = [&] {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return release; });
    ++done;
  };
  ASSERT_EQ(pool.TrySubmit(blocking), kAdmitted);
  // Wait until the thread has taken the first job, so the queue holds exactly what we add next.
  for (int i = 0; i < 1000 && pool.Active() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_EQ(pool.Active(), 1u);
  EXPECT_EQ(pool.TrySubmit([&] { ++done; }), kAdmitted);
  EXPECT_EQ(pool.TrySubmit([&] { ++done; }), kAdmitted);
  EXPECT_TRUE(pool.Full());
  EXPECT_EQ(depth_seen, 2);
  EXPECT_EQ(pool.TrySubmit([&] { ++done; }), ComputePool::Admission::kQueueFull) << "capacity 2 is full";
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  pool.Shutdown();
  EXPECT_EQ(done, 3) << "queued jobs run before Shutdown returns";
  EXPECT_EQ(pool.TrySubmit([] {}), ComputePool::Admission::kStopping) << "a stopped pool refuses";
}

// Holds the jobs of a test until released.
class Latch {
 public:
  void Wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return open_; });
  }
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

TEST(ComputePoolTest, AdmitsByTheMemoryBudgetSharedBetweenPoolsAndReturnsChargesWhenJobsEnd) {
  auto budget = std::make_shared<MemoryBudget>(100);
  std::uint64_t in_use_seen = 0;
  ComputePool::Observers observers;
  observers.memory_in_use = [&](std::uint64_t n) { in_use_seen = n; };
  ComputePool api(ComputePool::Options{.threads = 1, .max_waiting = 10, .budget = budget}, observers);
  ComputePool peer(ComputePool::Options{.threads = 1, .max_waiting = 10, .budget = budget});
  Latch api_latch, peer_latch;
  ASSERT_EQ(api.TrySubmit([&] { api_latch.Wait(); }, 60), kAdmitted);
  EXPECT_EQ(in_use_seen, 60u);
  EXPECT_EQ(peer.Check(50), ComputePool::Admission::kOverBudget) << "the other pool sees the same budget";
  EXPECT_EQ(peer.TrySubmit([] {}, 50), ComputePool::Admission::kOverBudget);
  EXPECT_EQ(peer.TrySubmit([&] { peer_latch.Wait(); }, 40), kAdmitted) << "exactly full is admitted";
  EXPECT_EQ(budget->in_use(), 100u);
  EXPECT_EQ(api.TrySubmit([] {}, 1), ComputePool::Admission::kOverBudget);
  EXPECT_EQ(api.TrySubmit([] {}, 101), ComputePool::Admission::kTooLarge) << "never fits, whatever runs";
  peer_latch.Open();
  peer.Shutdown();
  EXPECT_EQ(budget->in_use(), 60u);
  api_latch.Open();
  api.Shutdown();
  EXPECT_EQ(budget->in_use(), 0u);
  EXPECT_EQ(in_use_seen, 0u);
}

// A charge taken before the job exists (a request's body, while it is read) counts towards the
// job's: only the difference is charged at submission, a surplus is given back, and a refused
// job's charge is released with it.
TEST(ComputePoolTest, AChargeHeldBeforeSubmissionIsHandedToTheJob) {
  auto budget = std::make_shared<MemoryBudget>(100);
  ComputePool pool(ComputePool::Options{.threads = 1, .max_waiting = 10, .budget = budget});
  auto held = MemoryCharge::Take(budget, 70);
  ASSERT_TRUE(held);
  EXPECT_FALSE(MemoryCharge::Take(budget, 31)) << "held charges fill the budget like admitted jobs";
  Latch latch;
  ASSERT_EQ(pool.TrySubmit([&] { latch.Wait(); }, 80, std::move(*held)), kAdmitted) << "10 more, not 80";
  EXPECT_EQ(budget->in_use(), 80u);
  auto surplus = MemoryCharge::Take(budget, 20);
  ASSERT_TRUE(surplus);
  ASSERT_EQ(pool.TrySubmit([] {}, 5, std::move(*surplus)), kAdmitted);
  EXPECT_EQ(budget->in_use(), 85u) << "15 of the 20 given back";
  auto refused = MemoryCharge::Take(budget, 15);
  ASSERT_TRUE(refused);
  EXPECT_EQ(pool.TrySubmit([] {}, 101, std::move(*refused)), ComputePool::Admission::kTooLarge);
  EXPECT_EQ(budget->in_use(), 85u) << "a refused job's charge is released";
  EXPECT_TRUE(MemoryCharge::Take(nullptr, 1u << 30)) << "no budget: every charge fits";
  latch.Open();
  pool.Shutdown();
  EXPECT_EQ(budget->in_use(), 0u);
}

TEST(ComputePoolTest, ThreadsRunLowerByTheirNiceValue) {
  const int base = common::CurrentThreadNice();
  ComputePool pool(ComputePool::Options{.threads = 1, .max_waiting = 1, .nice = 3});
  std::atomic<int> seen{-100};
  ASSERT_EQ(pool.TrySubmit([&] { seen = common::CurrentThreadNice(); }), kAdmitted);
  pool.Shutdown();
  EXPECT_EQ(seen.load(), std::min(base + 3, 19));
  EXPECT_EQ(common::CurrentThreadNice(), base) << "only the pool's threads are lowered";
}

}  // namespace
}  // namespace http
