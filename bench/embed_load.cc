// End-to-end embed benchmark: POST /api/v1/embed of a file into the worker's default 1080p cover,
// from N concurrent keep-alive clients, against the real stego-worker binary over loopback.
//
//   build/bin/embed_load [--clients 1,4] [--requests 200] [--payload-bytes 102400] [--threads 0]
//                        [--members 1]
//
// --members 1 runs one standalone worker; --members N (N >= 2) runs a cluster of N members on
// loopback and sends every request to the leader, which dispatches each job to the least-loaded
// member (worker/cluster/dispatcher.h).
//
// Prints, per client count, latency percentiles and throughput, where the jobs ran (the answers'
// X-Stego-Member), then where the servers spent their time per request (the members'
// stego_phase_duration_seconds histograms, summed, and the whole request from the leader's
// http_request_duration_seconds), as Markdown.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/http_client.h"
#include "tests/support/process_under_test.h"
#include "tests/support/prometheus_text.h"
#include "tests/support/test_helpers.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Settings {
  std::vector<int> clients = {1, 4};
  int requests = 200;  // per run, split across the clients
  size_t payload_bytes = 100 * 1024;
  int warmup = 10;
  std::string threads = "0";
  int members = 1;
};

Settings ParseArgs(int argc, char** argv) {
  Settings s;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--clients") {
      s.clients.clear();
      std::stringstream list(value);
      for (std::string n; std::getline(list, n, ',');) s.clients.push_back(std::stoi(n));
    } else if (flag == "--requests") {
      s.requests = std::stoi(value);
    } else if (flag == "--payload-bytes") {
      s.payload_bytes = std::stoul(value);
    } else if (flag == "--threads") {
      s.threads = value;
    } else if (flag == "--members") {
      s.members = std::stoi(value);
    } else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      std::exit(2);
    }
  }
  return s;
}

double Percentile(std::vector<double> sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t rank = static_cast<size_t>(p / 100.0 * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(rank, sorted.size() - 1)];
}

using Totals = std::map<std::string, std::pair<double, double>>;

// Sum and count of each phase's histogram over every worker (the whole request from the first,
// the one clients call), to subtract a before-snapshot from an after-snapshot.
Totals PhaseTotals(const std::vector<std::unique_ptr<testsupport::ProcessUnderTest>>& workers) {
  Totals totals;
  for (std::size_t w = 0; w < workers.size(); ++w) {
    testsupport::HttpClient client(workers[w]->host(), workers[w]->port());
    std::string error;
    auto metrics = testsupport::ParsePromText(client.Get("/metrics").body, &error);
    if (!metrics) continue;
    for (const auto& sample : metrics->samples) {
      // The whole request as the server saw it, from the first byte read to the last byte written.
      const auto route = sample.labels.find("route");
      if (w == 0 && route != sample.labels.end() && route->second == "embed") {
        if (sample.name == "http_request_duration_seconds_sum") totals["server_total"].first += sample.value;
        if (sample.name == "http_request_duration_seconds_count") totals["server_total"].second += sample.value;
      }
      const auto phase = sample.labels.find("phase");
      if (phase == sample.labels.end()) continue;
      if (sample.name == "stego_phase_duration_seconds_sum") totals[phase->second].first += sample.value;
      if (sample.name == "stego_phase_duration_seconds_count") totals[phase->second].second += sample.value;
    }
  }
  return totals;
}

// One standalone worker, or a cluster of `members` with the leader first.
std::vector<std::unique_ptr<testsupport::ProcessUnderTest>> StartWorkers(const Settings& s,
                                                                         const std::filesystem::path& root) {
  std::vector<std::unique_ptr<testsupport::ProcessUnderTest>> workers;
  if (s.members <= 1) {
    workers.push_back(std::make_unique<testsupport::ProcessUnderTest>(testsupport::ProcessUnderTest::Options{
        .binary = STEGO_WORKER_BINARY, .args = {"--http", "127.0.0.1:0", "--threads", s.threads}}));
    return workers;
  }
  std::vector<std::uint16_t> http_ports, peer_ports;
  std::string peers;
  for (int i = 0; i < s.members; ++i) {
    http_ports.push_back(testsupport::FreeLoopbackPort());
    peer_ports.push_back(testsupport::FreeLoopbackPort());
    peers += (i ? "," : "") + ("m" + std::to_string(i)) + "=127.0.0.1:" + std::to_string(peer_ports.back());
  }
  for (int i = 0; i < s.members; ++i) {
    const std::string name = "m" + std::to_string(i);
    workers.push_back(std::make_unique<testsupport::ProcessUnderTest>(testsupport::ProcessUnderTest::Options{
        .binary = STEGO_WORKER_BINARY,
        .args = {"--node-id", name, "--http", "127.0.0.1:" + std::to_string(http_ports[i]), "--peer",
                 "127.0.0.1:" + std::to_string(peer_ports[i]), "--peers", peers, "--data-dir",
                 (root / name).string(), "--threads", s.threads},
        .env = {{"STEGO_CLUSTER_SECRET", "embed-load-secret"}}}));
  }
  // Wait for one leader with every member a voter, and put it first.
  const bool formed = testsupport::Eventually([&] {
    testsupport::HttpClient client(workers[0]->host(), workers[0]->port());
    const auto status = nlohmann::json::parse(client.Get("/raft/status").body, nullptr, false);
    if (!status.is_object() || status["leader_id"].is_null() ||
        status["voters"].size() != static_cast<std::size_t>(s.members)) {
      return false;
    }
    const std::string leader = status["leader_id"];
    std::rotate(workers.begin(), workers.begin() + std::stoi(leader.substr(1)), workers.end());
    return true;
  }, std::chrono::seconds(30));
  if (!formed) {
    std::fprintf(stderr, "the cluster did not form\n");
    std::exit(1);
  }
  return workers;
}

}  // namespace

int main(int argc, char** argv) {
  const Settings settings = ParseArgs(argc, argv);
  const auto root = testsupport::FreshScratchDirectory("embed-load", "members-" + std::to_string(settings.members));
  const auto workers = StartWorkers(settings, root);
  const testsupport::ProcessUnderTest& worker = *workers.front();
  std::string payload(settings.payload_bytes, '\0');
  std::mt19937 rng(42);
  for (auto& ch : payload) ch = static_cast<char>(rng());  // incompressible, like most files
  testsupport::MultipartBuilder form;
  form.File("file", "payload.bin", "application/octet-stream", payload);

  std::printf("| clients | requests | p50 ms | p90 ms | p99 ms | max ms | requests/s |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  std::vector<std::string> phase_report;
  for (int clients : settings.clients) {
    {
      testsupport::HttpClient warm(worker.host(), worker.port());
      for (int i = 0; i < settings.warmup; ++i) warm.PostMultipart("/api/v1/embed", form);
    }
    const auto before = PhaseTotals(workers);
    std::vector<std::vector<double>> latencies(static_cast<size_t>(clients));
    std::vector<std::map<std::string, int>> ran_on(static_cast<size_t>(clients));
    int failures = 0;
    const auto start = Clock::now();
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c) {
      threads.emplace_back([&, c] {
        testsupport::HttpClient client(worker.host(), worker.port());
        for (int i = c; i < settings.requests; i += clients) {
          const auto t0 = Clock::now();
          const auto response = client.PostMultipart("/api/v1/embed", form);
          latencies[static_cast<size_t>(c)].push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
          if (response.status != 200) __atomic_add_fetch(&failures, 1, __ATOMIC_RELAXED);
          ++ran_on[static_cast<size_t>(c)][response.Header("X-Stego-Member").value_or("?")];
        }
      });
    }
    for (auto& t : threads) t.join();
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    std::vector<double> all;
    for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
    std::sort(all.begin(), all.end());
    std::printf("| %d | %zu | %.1f | %.1f | %.1f | %.1f | %.1f |\n", clients, all.size(), Percentile(all, 50),
                Percentile(all, 90), Percentile(all, 99), all.back(), static_cast<double>(all.size()) / seconds);
    if (failures) std::printf("(%d requests failed)\n", failures);
    std::map<std::string, int> placed;
    for (const auto& per_client : ran_on) {
      for (const auto& [member, n] : per_client) placed[member] += n;
    }
    std::string line = "clients=" + std::to_string(clients) + ": jobs ran on";
    for (const auto& [member, n] : placed) line += " " + member + " " + std::to_string(n);
    phase_report.push_back(line);

    const auto after = PhaseTotals(workers);
    line = "clients=" + std::to_string(clients) + ": mean ms per request by phase:";
    for (const auto& [phase, totals] : after) {
      const auto& was = before.count(phase) ? before.at(phase) : std::pair<double, double>{0, 0};
      const double count = totals.second - was.second;
      if (count > 0) {
        char cell[64];
        std::snprintf(cell, sizeof cell, " %s %.1f", phase.c_str(), 1000.0 * (totals.first - was.first) / count);
        line += cell;
      }
    }
    phase_report.push_back(line);
  }
  std::printf("\n");
  for (const auto& line : phase_report) std::printf("%s\n", line.c_str());
  std::filesystem::remove_all(root);
  return 0;
}
