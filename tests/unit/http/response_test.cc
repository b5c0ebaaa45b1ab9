#include "worker/http/response.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

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
  ASSERT_TRUE(pool.TrySubmit(blocking));
  // Wait until the thread has taken the first job, so the queue holds exactly what we add next.
  for (int i = 0; i < 1000 && pool.Active() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_EQ(pool.Active(), 1u);
  EXPECT_TRUE(pool.TrySubmit([&] { ++done; }));
  EXPECT_TRUE(pool.TrySubmit([&] { ++done; }));
  EXPECT_TRUE(pool.Full());
  EXPECT_EQ(depth_seen, 2);
  EXPECT_FALSE(pool.TrySubmit([&] { ++done; })) << "capacity 2 is full";
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  pool.Shutdown();
  EXPECT_EQ(done, 3) << "queued jobs run before Shutdown returns";
  EXPECT_FALSE(pool.TrySubmit([] {})) << "a stopped pool refuses";
}

}  // namespace
}  // namespace http
