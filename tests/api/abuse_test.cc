// Per-client limits against a real worker under attack: a client over its concurrency or its rate
// gets 429 with Retry-After, a slow client cannot hold more than its share of connections, and
// another client (another loopback address) is served throughout. The attack tests print the
// bystander's latency alone and during the attack (RecordProperty too): reported, not asserted.
#include <atomic>
#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>
#include <vector>

#include "tests/api/worker_fixture.h"
#include "tests/support/prometheus_text.h"

namespace apitest {
namespace {

using namespace std::chrono_literals;
using testsupport::RawConnection;

constexpr char kAttacker[] = "127.0.0.2";
constexpr char kBystander[] = "127.0.0.3";
constexpr char kProxy[] = "127.0.0.4";

// `count` embeds one after another from another client's address, each of which must succeed;
// their latencies in milliseconds.
std::vector<double> BystanderEmbeds(const ProcessUnderTest& worker, int count) {
  HttpClient client(worker.host(), worker.port(), 30s, kBystander);
  std::vector<double> ms;
  for (int i = 0; i < count; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const auto response = client.PostMultipart("/api/v1/embed", MultipartBuilder().Field("message", "bystander"));
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    EXPECT_EQ(response.status, 200) << "the bystander was refused: " << response.body;
  }
  return ms;
}

// Prints (and records) the bystander's latency alone and during the attack.
void Report(const std::string& attack, const std::vector<double>& alone, const std::vector<double>& attacked) {
  using testsupport::Percentile;
  std::cout << attack << ": the bystander's embeds p50/p99 " << Percentile(alone, 50) << "/" << Percentile(alone, 99)
            << " ms alone, " << Percentile(attacked, 50) << "/" << Percentile(attacked, 99) << " ms during the attack ("
            << attacked.size() << " embeds)\n";
  ::testing::Test::RecordProperty("bystander_p99_ms_alone", std::to_string(Percentile(alone, 99)));
  ::testing::Test::RecordProperty("bystander_p99_ms_attacked", std::to_string(Percentile(attacked, 99)));
}

// Many concurrent embeds from one address: beyond --client-concurrency each is refused at once
// (429, Retry-After, naming the address), before its upload is read; the bystander is not.
TEST(AbusiveClients, ConcurrencyBeyondTheLimitIsRefusedAndOthersAreServed) {
  ProcessUnderTest worker(WorkerOptions({"--threads", "2", "--client-concurrency", "1"}));
  const auto alone = BystanderEmbeds(worker, 20);
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, refused{0}, other{0};
  std::vector<std::thread> attackers;
  for (int c = 0; c < 8; ++c) {
    attackers.emplace_back([&] {
      HttpClient client(worker.host(), worker.port(), 30s, kAttacker);
      while (!stop) {
        const auto response = client.PostMultipart("/api/v1/embed", MultipartBuilder().Field("message", "flood"));
        if (response.status == 200) {
          ++ok;
        } else if (response.status == 429 && response.Json()["code"] == "too_many_requests" &&
                   response.Header("Retry-After") == "1" &&
                   response.Json()["detail"].get<std::string>().find("address 127.0.0.2") != std::string::npos) {
          ++refused;
        } else {
          ++other;
        }
      }
    });
  }
  ASSERT_TRUE(testsupport::Eventually([&] { return refused > 0; }, 30s)) << "the attack never went over its limit";
  const auto attacked = BystanderEmbeds(worker, 20);
  stop = true;
  for (auto& t : attackers) t.join();
  EXPECT_GT(ok.load(), 0) << "the attacker keeps its share";
  EXPECT_EQ(other.load(), 0);
  HttpClient probe(worker.host(), worker.port());
  auto metrics = testsupport::ParsePromText(probe.Get("/metrics").body, nullptr);
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->Value("http_rejected_total", {{"reason", "client_concurrency"}}).value_or(-1), refused.load());
  Report("8 connections of embeds at --client-concurrency 1 (" + std::to_string(ok.load()) + " served, " +
             std::to_string(refused.load()) + " refused)",
         alone, attacked);
}

// A rate limit follows the API key across addresses: after the burst, the same key from another
// address is refused too, with the wait until the next token; another key is not.
TEST(AbusiveClients, RateFollowsTheKeyAcrossAddresses) {
  ProcessUnderTest worker(WorkerOptions({"--client-rate", "0.5", "--client-burst", "3"}));
  const testsupport::HeaderList key = {{"Authorization", std::string("Bearer ") + kAdminKey}};
  HttpClient attacker(worker.host(), worker.port(), 30s, kAttacker);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(attacker.Get("/openapi.json", key).status, 200) << "the burst: " << i;
  HttpClient elsewhere(worker.host(), worker.port(), 30s, kBystander);
  const auto refused = elsewhere.Get("/openapi.json", key);
  EXPECT_EQ(refused.status, 429);
  EXPECT_EQ(refused.Header("Retry-After"), "2") << "half a request per second: two seconds to the next";
  EXPECT_NE(refused.Json()["detail"].get<std::string>().find("key "), std::string::npos) << refused.body;
  EXPECT_EQ(refused.Json()["detail"].get<std::string>().find(kAdminKey), std::string::npos) << "the key is not echoed";
  // The bystander's own address has room; without the key it is not counted against it.
  HttpClient bystander(worker.host(), worker.port(), 30s, kBystander);
  EXPECT_EQ(bystander.Get("/openapi.json").status, 200);
  EXPECT_EQ(bystander.Get("/healthz").status, 200) << "probes are never counted";
}

// Slowloris: one address opens connections and sends a header byte now and then. Beyond
// --client-connections it is answered 429 and closed at once; the bystander is served, and once
// the slow connections go (the header timeout), the address may connect again.
TEST(AbusiveClients, ASlowClientHoldsNoMoreThanItsShareOfConnections) {
  ProcessUnderTest worker(WorkerOptions({"--client-connections", "8"}));
  const auto alone = BystanderEmbeds(worker, 20);
  std::vector<std::unique_ptr<RawConnection>> slow;
  for (int i = 0; i < 8; ++i) {
    slow.push_back(std::make_unique<RawConnection>(worker.host(), worker.port(), 10s, kAttacker));
    slow.back()->Send("POST /api/v1/embed HTTP/1.1\r\nHost: x\r\n");
  }
  int refused = 0;
  for (int i = 0; i < 20; ++i) {
    RawConnection extra(worker.host(), worker.port(), 10s, kAttacker);
    const auto answer = extra.ReadResponse();
    if (answer.status == 429 && answer.Json()["code"] == "too_many_connections" && answer.Header("Retry-After")) {
      ++refused;
    }
    EXPECT_TRUE(extra.WaitClosed(5s)) << "a refused connection is closed";
  }
  EXPECT_EQ(refused, 20);
  const auto attacked = BystanderEmbeds(worker, 20);
  for (auto& c : slow) EXPECT_TRUE(c->TrySend("X-Slow: 1\r\n")) << "the slow connections were held all along";
  Report("8 slow connections held, 20 more refused at --client-connections 8", alone, attacked);
  slow.clear();  // the attacker gives up: its share is free again
  EXPECT_TRUE(testsupport::Eventually([&] {
    HttpClient again(worker.host(), worker.port(), 10s, kAttacker);
    return again.Get("/openapi.json").status == 200;
  }, 10s));
}

// Through a trusted proxy, each client named by X-Forwarded-For has its own share; a client that
// is not a trusted proxy cannot escape its limit by forging the header.
TEST(AbusiveClients, ATrustedProxysClientsAreCountedApartAndForgedHeadersAreIgnored) {
  ProcessUnderTest worker(WorkerOptions({"--client-rate", "0.1", "--client-burst", "1", "--trusted-proxies", kProxy}));
  HttpClient proxy(worker.host(), worker.port(), 30s, kProxy);
  auto through = [&](const std::string& chain) { return proxy.Get("/openapi.json", {{"X-Forwarded-For", chain}}).status; };
  EXPECT_EQ(through("198.51.100.7"), 200);
  EXPECT_EQ(through("198.51.100.7"), 429) << "the first client's burst is spent";
  EXPECT_EQ(through("203.0.113.9, 198.51.100.8"), 200) << "the last address is the client";
  EXPECT_EQ(through("198.51.100.8, 198.51.100.7"), 429);
  HttpClient forger(worker.host(), worker.port(), 30s, kAttacker);
  EXPECT_EQ(forger.Get("/openapi.json", {{"X-Forwarded-For", "192.0.2.1"}}).status, 200);
  EXPECT_EQ(forger.Get("/openapi.json", {{"X-Forwarded-For", "192.0.2.2"}}).status, 429)
      << "an untrusted peer is its own address, whatever it forwards";
}

TEST(AbusiveClients, AnInvalidTrustedProxyIsRefusedAtStart) {
  ProcessUnderTest::Options options = WorkerOptions({"--trusted-proxies", "10.0.0.0/40"});
  options.wait_listening = false;
  ProcessUnderTest worker(options);
  EXPECT_EQ(worker.WaitExit(10s), 2);
  EXPECT_NE(worker.Output().find("--trusted-proxies: '10.0.0.0/40' is not an address or CIDR block"), std::string::npos)
      << worker.Output();
}

// The peak resident memory of process `pid` (VmHWM), in MiB.
double PeakResidentMiB(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmHWM:")) return std::stod(line.substr(6)) / 1024;
  }
  return 0;
}

// A flood of maximum-size uploads from many connections at once: bodies are charged to the memory
// budget while they are read, not only once read, so the worker's memory stays near its budget
// (the peak is reported); the uploads beyond it are refused with 503 before their body is read.
TEST(AbusiveClients, AFloodOfMaximumSizeUploadsStaysNearTheMemoryBudget) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // The ASan tree's worker keeps freed blocks in ASan's quarantine (256 MiB) and pads every block
  // with redzones; the TSan tree's shadows every byte it touches several times over: its RSS says
  // nothing about our budget (measured: ASan 402 MiB over, TSan 928, limit 320; the same 4 uploads
  // read and 44 refused as in the main tree).
  GTEST_SKIP() << "RSS is the sanitizer's, not the budget's, in a sanitizer build";
#endif
  constexpr int kBudgetMiB = 128, kUploadMiB = 32, kConnections = 24;
  ProcessUnderTest worker(WorkerOptions({"--queue-memory-bytes", std::to_string(kBudgetMiB << 20), "--max-upload-bytes",
                                         std::to_string((kUploadMiB << 20) + (64 << 10)), "--threads", "2"}));
  HttpClient probe(worker.host(), worker.port());
  ASSERT_EQ(probe.Get("/healthz").status, 200);
  const double before = PeakResidentMiB(worker.pid());
  const std::string upload = RandomBytes(std::size_t{kUploadMiB} << 20, 7);
  const MultipartBuilder form = MultipartBuilder().File("file", "big.bin", "application/octet-stream", upload);
  std::atomic<int> answered{0}, refused{0}, other{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kConnections; ++c) {
    clients.emplace_back([&] {
      for (int i = 0; i < 2; ++i) {
        HttpClient client(worker.host(), worker.port(), 60s);
        try {
          const auto response = client.PostMultipart("/api/v1/embed", form);
          if (response.status == 503 && response.Json()["code"] == "overloaded") {
            ++refused;
          } else if (response.status >= 400 && response.status < 500) {
            ++answered;  // the file does not fit the default cover: read, parsed and refused
          } else {
            ++other;
          }
        } catch (const std::runtime_error& e) {
          // Answered 503 and closed before the body was read: this client, which sends the whole
          // body before reading, finds the connection closed under it.
          const std::string what = e.what();
          what.find("Broken pipe") != std::string::npos || what.find("reset") != std::string::npos ? ++refused : ++other;
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  const double peak = PeakResidentMiB(worker.pid());
  std::cout << kConnections << " connections x 2 uploads of " << kUploadMiB << " MiB, budget " << kBudgetMiB
            << " MiB: " << answered << " read and answered, " << refused << " refused (503); peak RSS " << peak
            << " MiB (" << before << " MiB before)\n";
  ::testing::Test::RecordProperty("peak_rss_mib", std::to_string(peak));
  EXPECT_EQ(other.load(), 0);
  EXPECT_GT(answered.load(), 0);
  EXPECT_GT(refused.load(), 0);
  EXPECT_EQ(probe.Get("/healthz").status, 200);
  // A bound, not a target: each admitted upload is charged its body plus the route's working-set
  // estimate, and really holds up to about twice its body (the parsed part is a copy). Before
  // bodies were charged while being read, this flood grew the worker by 750 MiB.
  EXPECT_LT(peak - before, 2.0 * kBudgetMiB + 64) << "half-read bodies escaped the memory budget";
}

}  // namespace
}  // namespace apitest
