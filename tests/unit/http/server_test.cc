// Server behaviour over real sockets on 127.0.0.1 (ephemeral ports).
#include "worker/http/server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/metrics.h"
#include "worker/http/compute_pool.h"
#include "tests/support/http_client.h"
#include "tests/support/prometheus_text.h"

namespace http {
namespace {

using namespace std::chrono_literals;
using testsupport::HttpClient;
using testsupport::HttpResponse;
using testsupport::RawConnection;

// Holds compute handlers until opened, and lets the test wait until they are inside.
class Gate {
 public:
  void Wait() {
    std::unique_lock lock(mu_);
    ++waiting_;
    cv_.notify_all();
    cv_.wait(lock, [this] { return open_; });
  }
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  bool WaitForWaiters(int n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return waiting_ >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int waiting_ = 0;
  bool open_ = false;
};

template <class Pred>
bool Eventually(Pred pred, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

void ExpectJsonError(const HttpResponse& r, int status, std::string_view code) {
  EXPECT_EQ(r.status, status) << r.body;
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
  nlohmann::json j;
  ASSERT_NO_THROW(j = r.Json()) << r.body;
  EXPECT_EQ(j.value("code", ""), code) << r.body;
  EXPECT_TRUE(j.contains("error") && j["error"].is_string() && !j["error"].get<std::string>().empty()) << r.body;
  EXPECT_TRUE(j.contains("detail") && j["detail"].is_string()) << r.body;
  ASSERT_TRUE(j.contains("request_id")) << r.body;
  EXPECT_EQ(r.Header("X-Request-Id"), j["request_id"].get<std::string>()) << "body and header carry the same id";
}

bool IsGeneratedId(const std::string& id) {
  return id.size() == 16 && id.find_first_not_of("0123456789abcdef") == std::string::npos;
}

class ServerTest : public ::testing::Test {
 protected:
  static ServerOptions Options() {
    ServerOptions o;
    o.io_threads = 2;
    o.compute_threads = 1;
    o.queue_capacity = 1;
    o.max_body_bytes = 1 << 20;
    o.max_header_bytes = 4096;
    o.header_timeout = 5s;
    o.body_timeout = 5s;
    o.idle_timeout = 5s;
    o.write_timeout = 5s;
    o.drain_timeout = 5s;
    return o;
  }

  void Start(ServerOptions options = Options()) {
    AddRoutes();
    server_ = std::make_unique<Server>(options, router_, metrics_);
    auto port = server_->Start();
    ASSERT_TRUE(port) << port.error();
    port_ = *port;
  }

  void TearDown() override {
    gate_.Open();
    if (server_) {
      server_->Stop();
      server_->Join();
    }
  }

  HttpClient Client() { return HttpClient("127.0.0.1", port_, 10s); }
  RawConnection Raw(std::chrono::milliseconds timeout = 5s) { return RawConnection("127.0.0.1", port_, timeout); }

  testsupport::PromText Scrape() {
    auto c = Client();
    auto r = c.Get("/metrics");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.Header("Content-Type"), std::string(common::kPrometheusContentType));
    std::string error;
    auto parsed = testsupport::ParsePromText(r.body, &error);
    EXPECT_TRUE(parsed) << error << "\n" << r.body;
    return parsed.value_or(testsupport::PromText{});
  }

  void AddRoutes() {
    router_.Add("GET", "/healthz", [](Request&) { return Response::Text(200, "ok"); },
                {.name = "healthz", .quiet = true});
    router_.Add("GET", "/metrics",
                [this](Request&) {
                  return Response::Text(200, metrics_.Render(), std::string(common::kPrometheusContentType));
                },
                {.name = "metrics", .quiet = true});
    router_.Add("POST", "/echo",
                [](Request& req) {
                  nlohmann::json j;
                  j["method"] = req.method;
                  j["path"] = req.path;
                  j["body_size"] = req.body.size();
                  j["body_head"] = req.body.substr(0, 64);
                  j["request_id"] = req.request_id;
                  j["route"] = req.route;
                  j["remote"] = req.remote_address;
                  j["content_type"] = std::string(req.Header("content-type").value_or(""));
                  return Response::Json(200, j);
                },
                {.name = "echo"});
    router_.Add("GET", "/items/{id}",
                [](Request& req) {
                  nlohmann::json j;
                  j["id"] = req.Param("id");
                  j["x"] = std::string(req.Query("x").value_or(""));
                  j["y"] = std::string(req.Query("y").value_or(""));
                  return Response::Json(200, j);
                },
                {.name = "items"});
    router_.Add("POST", "/compute",
                [this](Request& req) {
                  if (req.Query("block")) gate_.Wait();
                  return Response::Text(200, "computed " + std::to_string(req.body.size()));
                },
                {.name = "compute", .compute = true});
    router_.Add("GET", "/throw", [](Request&) -> Response { throw std::runtime_error("boom"); }, {.name = "throw"});
    router_.Add("GET", "/throw-compute", [](Request&) -> Response { throw 42; },
                {.name = "throw_compute", .compute = true});
    router_.Add("POST", "/small", [](Request& req) { return Response::Text(200, std::to_string(req.body.size())); },
                {.name = "small", .max_body_bytes = 10});
    router_.Add("GET", "/headers",
                [](Request&) {
                  Response r = Response::Text(200, "h");
                  r.headers.Set("X-Good", "yes");
                  r.headers.Set("X-Evil", "a\r\nSet-Cookie: injected=1");
                  r.headers.Set("Content-Length", "999");
                  return r;
                },
                {.name = "headers"});
  }

  Router router_;
  common::Metrics metrics_;
  Gate gate_;
  std::unique_ptr<Server> server_;  // last: destroyed first, before what its handlers use
  std::uint16_t port_ = 0;
};

// --- protocol ------------------------------------------------------------------------------------

TEST_F(ServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  Start();
  auto c = Client();
  for (int i = 0; i < 5; ++i) {
    auto r = c.Get("/healthz");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "ok");
  }
  auto r = c.Post("/echo", "hello", "text/plain");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Json()["body_size"], 5);
  EXPECT_EQ(r.Json()["content_type"], "text/plain");
  EXPECT_EQ(r.Json()["remote"], "127.0.0.1");
  EXPECT_EQ(c.Post("/compute", "abc", "text/plain").body, "computed 3");
  EXPECT_EQ(c.connections_opened(), 1);
}

TEST_F(ServerTest, PipelinedRequestsAreAnsweredInOrder) {
  Start();
  auto raw = Raw();
  raw.Send(
      "GET /items/1 HTTP/1.1\r\nHost: t\r\n\r\n"
      "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc"
      "GET /items/2 HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(raw.ReadResponse().Json()["id"], "1");
  EXPECT_EQ(raw.ReadResponse().Json()["body_size"], 3);
  EXPECT_EQ(raw.ReadResponse().Json()["id"], "2");
}

TEST_F(ServerTest, Http10ClosesUnlessKeepAliveIsAsked) {
  Start();
  {
    auto raw = Raw();
    raw.Send("GET /healthz HTTP/1.0\r\n\r\n");
    auto r = raw.ReadResponse();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.version, 10);
    EXPECT_TRUE(raw.WaitClosed(2s));
  }
  auto raw = Raw();
  raw.Send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  auto r = raw.ReadResponse();
  EXPECT_EQ(r.version, 10);
  EXPECT_EQ(r.Header("Connection"), "keep-alive");
  raw.Send("GET /items/9 HTTP/1.0\r\n\r\n");
  EXPECT_EQ(raw.ReadResponse().Json()["id"], "9");
}

TEST_F(ServerTest, HeadAnswersGetHeadersWithoutBody) {
  Start();
  auto raw = Raw();
  raw.Send("HEAD /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
  auto r = raw.ReadResponse(/*head_request=*/true);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("Content-Length"), "2");
  EXPECT_EQ(r.body, "");
  raw.Send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");  // framing intact: the next answer parses
  EXPECT_EQ(raw.ReadResponse().body, "ok");
}

TEST_F(ServerTest, PathParametersAndQueryAreDecoded) {
  Start();
  auto c = Client();
  auto j = c.Get("/items/a%20b?x=1&x=2&y=hello+world%21").Json();
  EXPECT_EQ(j["id"], "a b");
  EXPECT_EQ(j["x"], "1") << "the first of repeated parameters";
  EXPECT_EQ(j["y"], "hello world!");
  ExpectJsonError(c.Get("/items/%zz"), 400, "bad_request");
  ExpectJsonError(c.Get("/items/x?y=%4"), 400, "bad_request");
  EXPECT_EQ(c.Get("http://example.com/items/abs").Json()["id"], "abs") << "absolute-form targets";
}

TEST_F(ServerTest, NotFoundAndMethodNotAllowedAreJsonErrors) {
  Start();
  auto c = Client();
  ExpectJsonError(c.Get("/nope"), 404, "not_found");
  auto r = c.Request("DELETE", "/healthz");
  ExpectJsonError(r, 405, "method_not_allowed");
  EXPECT_EQ(r.Header("Allow"), "GET, HEAD");
  EXPECT_EQ(c.Get("/healthz").status, 200) << "the connection stays usable";
  EXPECT_EQ(c.connections_opened(), 1);
}

TEST_F(ServerTest, ServerOwnsFramingAndDropsUnsafeHandlerHeaders) {
  Start();
  auto raw = Raw();
  raw.Send("GET /headers HTTP/1.1\r\nHost: t\r\n\r\n");
  const std::string head = raw.ReadUntil("\r\n\r\n");
  EXPECT_NE(head.find("X-Good: yes"), std::string::npos) << head;
  EXPECT_EQ(head.find("Set-Cookie"), std::string::npos) << head;
  EXPECT_EQ(head.find("999"), std::string::npos) << head;
  EXPECT_EQ(raw.ReadUntil("h"), "h");
}

// --- Expect: 100-continue ------------------------------------------------------------------------

TEST_F(ServerTest, ExpectContinueGets100ContinueThenTheAnswer) {
  auto options = Options();
  options.max_body_bytes = 8 << 20;
  Start(options);
  const std::string body(3 << 20, 'x');
  auto raw = Raw(2s);  // a server that never sends 100 makes ReadUntil time out and throw
  const auto t0 = std::chrono::steady_clock::now();
  raw.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/octet-stream\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(raw.ReadUntil("\r\n\r\n"), "HTTP/1.1 100 Continue\r\n\r\n");
  raw.Send(body);
  auto r = raw.ReadResponse();
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Json()["body_size"], body.size());
  EXPECT_LT(elapsed, 500ms);
}

TEST_F(ServerTest, ExpectContinueOverTheLimitGets413WithoutContinue) {
  Start();
  auto raw = Raw();
  raw.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2000000\r\nExpect: 100-continue\r\n\r\n");
  auto r = raw.ReadResponse();  // a 100 here would fail the status check
  ExpectJsonError(r, 413, "payload_too_large");
  EXPECT_EQ(r.Header("Connection"), "close");
  EXPECT_TRUE(raw.WaitClosed(3s));
}

TEST_F(ServerTest, ExpectContinueOnUnknownRouteGetsTheErrorWithoutContinue) {
  Start();
  auto raw = Raw();
  raw.Send("POST /nope HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n");
  ExpectJsonError(raw.ReadResponse(), 404, "not_found");
  EXPECT_TRUE(raw.WaitClosed(3s));
}

TEST_F(ServerTest, UnsupportedExpectationGets417) {
  Start();
  auto raw = Raw();
  raw.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nExpect: teapot\r\n\r\n");
  ExpectJsonError(raw.ReadResponse(), 417, "expectation_failed");
}

TEST_F(ServerTest, CurlFormUploadOfThreeMegabytesDoesNotStall) {
  if (std::system("command -v curl >/dev/null 2>&1") != 0) GTEST_SKIP() << "curl not installed";
  auto options = Options();
  options.max_body_bytes = 8 << 20;
  Start(options);
  const std::string path = ::testing::TempDir() + "/stego-http-3mb-" + std::to_string(::getpid()) + ".bin";
  std::ofstream(path, std::ios::binary) << std::string(3 << 20, 'p');
  // curl sends Expect: 100-continue for bodies this size and waits up to 1 s for the 100.
  const std::string cmd = "curl -sS -o /dev/null -w '%{http_code} %{time_total}' -F file=@" + path +
                          " http://127.0.0.1:" + std::to_string(port_) + "/echo";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char out[128] = {};
  const std::size_t n = std::fread(out, 1, sizeof out - 1, p);
  ::pclose(p);
  int code = 0;
  double seconds = 99;
  ASSERT_EQ(std::sscanf(std::string(out, n).c_str(), "%d %lf", &code, &seconds), 2) << out;
  EXPECT_EQ(code, 200);
  EXPECT_LT(seconds, 0.5) << "a 1 s stall means 100 Continue was not sent";
  std::remove(path.c_str());
}

// --- limits and malformed input ------------------------------------------------------------------

TEST_F(ServerTest, OversizedContentLengthGets413BeforeTheBodyIsSent) {
  Start();
  auto raw = Raw();
  raw.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10000000\r\n\r\n");  // and no body
  auto r = raw.ReadResponse();
  ExpectJsonError(r, 413, "payload_too_large");
  EXPECT_NE(r.Json()["detail"].get<std::string>().find("10000000"), std::string::npos);
  EXPECT_TRUE(raw.WaitClosed(3s));
}

TEST_F(ServerTest, PerRouteBodyLimit) {
  Start();
  auto c = Client();
  EXPECT_EQ(c.Post("/small", "0123456789", "text/plain").body, "10");
  ExpectJsonError(c.Post("/small", "0123456789A", "text/plain"), 413, "payload_too_large");
}

TEST_F(ServerTest, OversizedChunkedBodyGets413) {
  Start();
  auto raw = Raw();
  raw.Send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
  const std::string chunk(64 * 1024, 'c');
  char size_line[32];
  std::snprintf(size_line, sizeof size_line, "%zx\r\n", chunk.size());
  for (int i = 0; i < 40; ++i) {  // 2.5 MB against a 1 MB limit; the server may stop reading
    if (!raw.TrySend(size_line + chunk + "\r\n")) break;
  }
  auto r = raw.ReadResponse();
  ExpectJsonError(r, 413, "payload_too_large");
  EXPECT_TRUE(raw.WaitClosed(3s));
}

TEST_F(ServerTest, ChunkedBodyUnderTheLimitIsReassembled) {
  Start();
  auto raw = Raw();
  raw.Send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  auto j = raw.ReadResponse().Json();
  EXPECT_EQ(j["body_size"], 11);
  EXPECT_EQ(j["body_head"], "hello world");
}

TEST_F(ServerTest, MalformedRequestsGet400AndClose) {
  Start();
  for (const std::string& bad : {
           std::string("GARBAGE\r\n\r\n"),
           std::string("GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n"),
           std::string("GET /healthz HTTP/9.9\r\n\r\n"),
           std::string("GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n"),
           std::string("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
       }) {
    auto raw = Raw();
    raw.Send(bad);
    ExpectJsonError(raw.ReadResponse(), 400, "bad_request");
    EXPECT_TRUE(raw.WaitClosed(3s)) << bad;
  }
  EXPECT_EQ(Client().Get("/healthz").status, 200) << "the server is still healthy";
}

TEST_F(ServerTest, OversizedHeadersGet431) {
  Start();
  auto raw = Raw();
  raw.Send("GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(8000, 'a') + "\r\n\r\n");
  ExpectJsonError(raw.ReadResponse(), 431, "headers_too_large");
  EXPECT_TRUE(raw.WaitClosed(3s));
}

TEST_F(ServerTest, SlowAndSilentClientsTimeOutWithoutBlockingOthers) {
  auto options = Options();
  options.header_timeout = 300ms;
  options.idle_timeout = 300ms;
  options.body_timeout = 300ms;
  Start(options);
  auto slow_head = Raw();
  slow_head.Send("GET /healthz HTTP/1.1\r\nHost: t\r\n");  // never finishes its head
  auto slow_body = Raw();
  slow_body.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nonly ten b");
  auto silent = Raw();  // never sends anything
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) {
    auto c = Client();
    EXPECT_EQ(c.Get("/healthz").status, 200);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 250ms) << "others are served meanwhile";
  EXPECT_TRUE(slow_head.WaitClosed(3s));
  EXPECT_TRUE(slow_body.WaitClosed(3s));
  EXPECT_TRUE(silent.WaitClosed(3s));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 250ms);
  // A keep-alive connection idle after its answer is closed too.
  auto idle = Raw();
  idle.Send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(idle.ReadResponse().status, 200);
  EXPECT_TRUE(idle.WaitClosed(3s));
}

TEST_F(ServerTest, ConnectionsBeyondTheLimitGet503) {
  auto options = Options();
  options.max_connections = 2;
  Start(options);
  auto a = Raw(), b = Raw();
  for (auto* conn : {&a, &b}) {
    conn->Send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
    EXPECT_EQ(conn->ReadResponse().status, 200);
  }
  {
    auto third = Raw();
    auto r = third.ReadResponse();
    ExpectJsonError(r, 503, "too_many_connections");
    EXPECT_EQ(r.Header("Retry-After"), "1");
    EXPECT_TRUE(third.WaitClosed(3s));
  }
  a.Send("GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(a.ReadResponse().status, 200);
  ASSERT_TRUE(Eventually([&] { return server_->Stats().connections < 2; })) << "a closed connection frees its slot";
  EXPECT_EQ(Scrape().Value("http_rejected_total", {{"reason", "too_many_connections"}}), 1.0);
}

// --- compute pool, overload, failures ------------------------------------------------------------

TEST_F(ServerTest, FullComputeQueueGets503WhileInlineRoutesStillAnswer) {
  Start();  // 1 compute thread, 1 queue slot
  HttpResponse first, second;
  std::thread a([&] { first = Client().Post("/compute?block=1", "a", "text/plain"); });
  ASSERT_TRUE(gate_.WaitForWaiters(1, 5s)) << "the first job runs and blocks";
  std::thread b([&] { second = Client().Post("/compute?block=1", "b", "text/plain"); });
  ASSERT_TRUE(Eventually([&] { return server_->Stats().queue_depth == 1; })) << "the second job waits in the queue";

  auto c = Client();
  auto rejected = c.Post("/compute", "c", "text/plain");
  ExpectJsonError(rejected, 503, "overloaded");
  EXPECT_EQ(rejected.Header("Retry-After"), "1");
  EXPECT_EQ(c.Get("/healthz").status, 200) << "inline routes do not wait for the pool";

  // With Expect: 100-continue the refusal comes before the body is invited.
  auto raw = Raw();
  raw.Send("POST /compute HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n");
  ExpectJsonError(raw.ReadResponse(), 503, "overloaded");

  const auto stats = server_->Stats();
  EXPECT_EQ(stats.compute_active, 1u);
  EXPECT_EQ(stats.queue_capacity, 1u);
  EXPECT_EQ(stats.compute_threads, 1u);
  auto scraped = Scrape();
  EXPECT_EQ(scraped.Value("http_compute_queue_depth"), 1.0);
  EXPECT_EQ(scraped.Value("http_compute_active"), 1.0);
  EXPECT_EQ(scraped.Value("http_rejected_total", {{"reason", "overloaded"}}), 2.0);

  gate_.Open();
  a.join();
  b.join();
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.body, "computed 1");
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(Client().Post("/compute", "d", "text/plain").status, 200) << "capacity is back";
}

TEST_F(ServerTest, ComputeJobsAreAdmittedByMemoryAndRefusedOnlyWhenTheBudgetIsSpent) {
  ServerOptions options = Options();
  options.queue_capacity = 100;  // the count is not what refuses here
  options.default_working_set_bytes = 40 << 10;
  options.memory_budget = std::make_shared<MemoryBudget>(100 << 10);
  Start(options);
  // Two jobs of 1 byte + 40 KiB fit in 100 KiB: one runs, one waits.
  HttpResponse first, second;
  std::thread a([&] { first = Client().Post("/compute?block=1", "a", "text/plain"); });
  ASSERT_TRUE(gate_.WaitForWaiters(1, 5s));
  std::thread b([&] { second = Client().Post("/compute?block=1", "b", "text/plain"); });
  ASSERT_TRUE(Eventually([&] { return server_->Stats().queue_depth == 1; }));
  EXPECT_EQ(server_->Stats().memory_in_use, 2u * ((40 << 10) + 1));

  auto c = Client();
  auto over = c.Post("/compute", "c", "text/plain");
  ExpectJsonError(over, 503, "overloaded");
  EXPECT_EQ(over.Header("Retry-After"), "1");
  EXPECT_NE(over.Json()["detail"].get<std::string>().find("compute memory budget"), std::string::npos) << over.body;

  // A job larger than the whole budget can never run: refused without Retry-After, and before its
  // body is invited.
  auto raw = Raw();
  raw.Send("POST /compute HTTP/1.1\r\nHost: t\r\nContent-Length: 200000\r\nExpect: 100-continue\r\n\r\n");
  auto too_large = raw.ReadResponse();
  ExpectJsonError(too_large, 503, "overloaded");
  EXPECT_FALSE(too_large.Header("Retry-After").has_value());
  EXPECT_NE(too_large.Json()["detail"].get<std::string>().find("whole compute memory budget"), std::string::npos);

  auto scraped = Scrape();
  EXPECT_EQ(scraped.Value("http_compute_memory_budget_bytes"), 100.0 * 1024);
  EXPECT_EQ(scraped.Value("http_compute_memory_in_use_bytes"), 2.0 * ((40 << 10) + 1));

  gate_.Open();
  a.join();
  b.join();
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(second.status, 200);
  EXPECT_TRUE(Eventually([&] { return server_->Stats().memory_in_use == 0; })) << "finished jobs return their charge";
  EXPECT_EQ(c.Post("/compute", "d", "text/plain").status, 200);
}

TEST_F(ServerTest, ThrowingHandlersGet500AndTheServerStaysUp) {
  Start();
  auto c = Client();
  ExpectJsonError(c.Get("/throw"), 500, "internal_error");
  ExpectJsonError(c.Get("/throw-compute"), 500, "internal_error");
  EXPECT_EQ(c.Get("/healthz").status, 200);
  EXPECT_EQ(c.connections_opened(), 1) << "a handler failure does not cost the connection";
}

// --- CORS (the policy itself: cors_test.cc) --------------------------------------------------------

ServerOptions WithCors(ServerOptions options) {
  options.cors = std::make_shared<CorsPolicy>(
      CorsOptions{.allows = [](std::string_view origin) { return OriginListed({"http://gui.example"}, origin); },
                  .allowed_headers = {"Content-Type", "X-Request-Id"},
                  .exposed_headers = {"X-Request-Id"}});
  return options;
}

const testsupport::HeaderList kPreflightPost = {{"Origin", "http://gui.example"},
                                                {"Access-Control-Request-Method", "POST"},
                                                {"Access-Control-Request-Headers", "content-type"}};

TEST_F(ServerTest, PreflightOfAnExistingPathIsAnsweredByTheServerWithItsMethods) {
  Start(WithCors(Options()));
  auto c = Client();
  auto r = c.Request("OPTIONS", "/echo", "", kPreflightPost);
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(r.Header("Access-Control-Allow-Origin"), "http://gui.example");
  EXPECT_EQ(r.Header("Access-Control-Allow-Methods"), "POST");
  EXPECT_EQ(r.Header("Access-Control-Allow-Headers"), "content-type");
  EXPECT_EQ(r.Header("Access-Control-Max-Age"), "600");
  EXPECT_EQ(r.Header("Vary"), "Origin");
  EXPECT_EQ(c.Request("OPTIONS", "/items/7", "", kPreflightPost).Header("Access-Control-Allow-Methods"), "GET, HEAD");
  ExpectJsonError(c.Request("OPTIONS", "/nope", "", kPreflightPost), 404, "not_found");
  testsupport::HeaderList other = kPreflightPost;
  other[0].second = "http://evil.example";
  r = c.Request("OPTIONS", "/echo", "", other);
  ExpectJsonError(r, 403, "origin_not_allowed");
  EXPECT_EQ(r.Json()["origin"], "http://evil.example");
  EXPECT_FALSE(r.Header("Access-Control-Allow-Origin"));
  // An OPTIONS that is not a preflight is a request like any other.
  ExpectJsonError(c.Request("OPTIONS", "/echo", "", {{"Origin", "http://gui.example"}}), 405, "method_not_allowed");
  EXPECT_EQ(c.connections_opened(), 1);
}

TEST_F(ServerTest, EveryAnswerToAnAllowedOriginCarriesTheCorsFieldsAndOthersNone) {
  Start(WithCors(Options()));
  auto c = Client();
  const testsupport::HeaderList gui = {{"Origin", "http://gui.example"}};
  for (const auto& r : {c.Post("/echo", "x", "text/plain", gui), c.Get("/nope", gui), c.Get("/throw", gui)}) {
    EXPECT_EQ(r.Header("Access-Control-Allow-Origin"), "http://gui.example") << r.status;
    EXPECT_EQ(r.Header("Access-Control-Expose-Headers"), "X-Request-Id") << r.status;
    EXPECT_EQ(r.Header("Vary"), "Origin") << r.status;
  }
  auto other = c.Post("/echo", "x", "text/plain", {{"Origin", "http://evil.example"}});
  EXPECT_EQ(other.status, 200) << "the browser, not the server, keeps the answer from the page";
  EXPECT_FALSE(other.Header("Access-Control-Allow-Origin"));
  EXPECT_FALSE(other.Header("Access-Control-Expose-Headers"));
  EXPECT_EQ(c.Get("/healthz").Header("Vary"), "Origin");
}

TEST_F(ServerTest, WithoutACorsPolicyAPreflightIsJustAnOptionsRequest) {
  Start();
  auto r = Client().Request("OPTIONS", "/echo", "", kPreflightPost);
  ExpectJsonError(r, 405, "method_not_allowed");
  EXPECT_FALSE(r.Header("Access-Control-Allow-Origin"));
  EXPECT_FALSE(r.Header("Vary"));
}

// --- request ids, metrics, shutdown --------------------------------------------------------------

TEST_F(ServerTest, RequestIdsAreHonouredWhenSaneAndGeneratedOtherwise) {
  Start();
  auto c = Client();
  auto r = c.Post("/echo", "", "text/plain", {{"X-Request-Id", "trace-42.a:b_c"}});
  EXPECT_EQ(r.Header("X-Request-Id"), "trace-42.a:b_c");
  EXPECT_EQ(r.Json()["request_id"], "trace-42.a:b_c");

  for (const std::string& bad : {std::string("has space"), std::string(129, 'a'), std::string("semi;colon")}) {
    r = c.Post("/echo", "", "text/plain", {{"X-Request-Id", bad}});
    const std::string id = r.Json()["request_id"];
    EXPECT_TRUE(IsGeneratedId(id)) << id;
    EXPECT_EQ(r.Header("X-Request-Id"), id);
  }
  const std::string id1 = c.Post("/echo", "", "text/plain").Json()["request_id"];
  const std::string id2 = c.Post("/echo", "", "text/plain").Json()["request_id"];
  EXPECT_TRUE(IsGeneratedId(id1));
  EXPECT_NE(id1, id2);
  // Errors the server writes itself carry the client's id too.
  r = c.Get("/nope", {{"X-Request-Id", "mine-1"}});
  EXPECT_EQ(r.Json()["request_id"], "mine-1");
}

TEST_F(ServerTest, MetricsAreValidExpositionWithTheExpectedSeries) {
  Start();
  auto c = Client();
  for (int i = 0; i < 3; ++i) c.Get("/healthz");
  c.Post("/echo", "hello", "text/plain");
  c.Get("/nope");
  c.Post("/compute", "xy", "text/plain");

  // The client has its answers a moment before the server has counted them: scrape until settled.
  testsupport::PromText m;
  EXPECT_TRUE(Eventually([&] {
    m = Scrape();
    return m.Value("http_requests_total", {{"route", "compute"}, {"status", "200"}}) == 1.0 &&
           m.Value("http_requests_in_flight") == 1.0 && m.Value("http_compute_active") == 0.0;
  }));
  EXPECT_EQ(m.types["http_requests_total"], "counter");
  EXPECT_EQ(m.types["http_request_duration_seconds"], "histogram");
  EXPECT_EQ(m.types["http_requests_in_flight"], "gauge");
  EXPECT_EQ(m.Value("http_requests_total", {{"route", "healthz"}, {"status", "200"}}), 3.0);
  EXPECT_EQ(m.Value("http_requests_total", {{"route", "echo"}, {"status", "200"}}), 1.0);
  EXPECT_EQ(m.Value("http_requests_total", {{"route", "none"}, {"status", "404"}}), 1.0);
  EXPECT_EQ(m.Value("http_requests_total", {{"route", "compute"}, {"status", "200"}}), 1.0);
  EXPECT_EQ(m.Value("http_request_duration_seconds_count", {{"route", "healthz"}}), 3.0);
  EXPECT_EQ(m.Value("http_request_duration_seconds_bucket", {{"route", "healthz"}, {"le", "+Inf"}}), 3.0);
  EXPECT_EQ(m.Value("http_request_body_bytes_total", {{"route", "echo"}}), 5.0);
  EXPECT_EQ(m.Value("http_response_body_bytes_total", {{"route", "healthz"}}), 6.0);
  EXPECT_EQ(m.Value("http_requests_in_flight"), 1.0) << "the scrape itself";
  EXPECT_EQ(m.Value("http_connections_open"), 2.0) << "c and the scraper";
  EXPECT_EQ(m.Value("http_compute_queue_depth"), 0.0);
  EXPECT_EQ(m.Value("http_compute_active"), 0.0);
  EXPECT_TRUE(m.help.count("http_rejected_total"));
}

TEST_F(ServerTest, StopFinishesInFlightRequestsAndClosesIdleConnections) {
  Start();
  HttpResponse in_flight;
  std::thread a([&] { in_flight = Client().Post("/compute?block=1", "x", "text/plain"); });
  ASSERT_TRUE(gate_.WaitForWaiters(1, 5s));
  auto idle = Raw();
  idle.Send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(idle.ReadResponse().status, 200);

  server_->Stop();
  EXPECT_TRUE(idle.WaitClosed(2s)) << "idle keep-alive connections close at once";
  EXPECT_THROW(Client().Get("/healthz"), std::runtime_error) << "no new connections";

  std::atomic<bool> joined{false};
  std::thread joiner([&] {
    server_->Join();
    joined = true;
  });
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(joined) << "Join waits for the request in flight";
  gate_.Open();
  a.join();
  joiner.join();
  EXPECT_EQ(in_flight.status, 200);
  EXPECT_EQ(in_flight.body, "computed 1");
  EXPECT_EQ(in_flight.Header("Connection"), "close");
}

TEST(ServerStartTest, ReportsBindFailures) {
  Router router;
  common::Metrics metrics;
  ServerOptions options;
  options.compute_threads = 1;
  Server first(options, router, metrics);
  auto port = first.Start();
  ASSERT_TRUE(port) << port.error();

  options.port = *port;
  Server second(options, router, metrics);
  auto again = second.Start();
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().find(std::to_string(*port)), std::string::npos) << again.error();

  options.host = "not-an-ip";
  Server third(options, router, metrics);
  EXPECT_FALSE(third.Start());
  first.Stop();
  first.Join();
}

}  // namespace
}  // namespace http
