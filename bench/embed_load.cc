// End-to-end embed benchmark: POST /api/v1/embed of a file into the worker's default 1080p cover,
// from N concurrent keep-alive clients, against the real stego-worker binary over loopback.
//
//   build/bin/embed_load [--clients 1,4] [--requests 200] [--payload-bytes 102400] [--threads 0]
//                        [--members 1] [--minutes M] [--worker PATH] [--worker-args "--flag v ..."]
//                        [--base-port P]
//
// --members 1 runs one standalone worker; --members N (N >= 2) runs a cluster of N members on
// loopback and sends every request to the leader, which dispatches each job to the least-loaded
// member (worker/cluster/dispatcher.h).
//
// Prints, per client count, latency percentiles and throughput, where the jobs ran (the answers'
// X-Stego-Member), then where the servers spent their time per request (the members'
// stego_phase_duration_seconds histograms, summed, and the whole request from the leader's
// http_request_duration_seconds), as Markdown.
//
// Against a server that is already running (ours or another implementation of the same API):
//
//   build/bin/embed_load --target 127.0.0.1:18001 --route /api/embed --field file
//                        --secrets a.png,b.png --clients 1,4,16 --requests-per-client 25 --tsv
//
// sends each listed file in turn as the multipart field, starts no worker, and prints one
// tab-separated line per client count: clients, requests, seconds, requests/s, p50, p95, p99 and
// max ms, and the answers by status ("200:100 503:3"; "0" counts connection errors and timeouts).
//
// --minutes M is the liveness benchmark (docs/raft.md, "Liveness under CPU load"): the first
// client count's clients, spread over every member (client i calls member i mod N), embed without
// pause for M minutes while /raft/status of every member is polled every 100 ms. It reports the
// requests done and failed, p50/p99, the elections (term changes seen, and the members' own
// "became leader" and "stepping down: quorum not active" log lines) and the load average.
//
// --worker runs another stego-worker binary (e.g. a build of main, for a before/after run);
// --worker-args adds flags to every worker; --base-port P puts the members' API ports at P.. and
// their peer ports at P+50.. instead of free ephemeral ports.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
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

using testsupport::Percentile;

using Clock = std::chrono::steady_clock;

struct Settings {
  std::vector<int> clients = {1, 4};
  int requests = 200;  // per run, split across the clients
  size_t payload_bytes = 100 * 1024;
  int warmup = 10;
  std::string threads = "0";
  int members = 1;
  std::string target;  // host:port of a running server; empty: start our own worker(s)
  std::string route = "/api/v1/embed";
  std::string field = "file";
  std::vector<std::string> secrets;  // files sent in turn; none: one random payload
  int requests_per_client = 0;       // when set, replaces --requests
  bool tsv = false;
  double minutes = 0;  // > 0: the liveness benchmark
  std::string worker = STEGO_WORKER_BINARY;
  std::vector<std::string> worker_args;
  int base_port = 0;  // 0: free ephemeral ports
};

std::vector<std::string> SplitList(const std::string& value) {
  std::vector<std::string> items;
  std::stringstream list(value);
  for (std::string item; std::getline(list, item, ',');) items.push_back(item);
  return items;
}

Settings ParseArgs(int argc, char** argv) {
  Settings s;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--tsv") {
      s.tsv = true;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s needs a value\n", flag.c_str());
      std::exit(2);
    }
    const std::string value = argv[++i];
    if (flag == "--clients") {
      s.clients.clear();
      for (const auto& n : SplitList(value)) s.clients.push_back(std::stoi(n));
    } else if (flag == "--requests") {
      s.requests = std::stoi(value);
    } else if (flag == "--requests-per-client") {
      s.requests_per_client = std::stoi(value);
    } else if (flag == "--warmup") {
      s.warmup = std::stoi(value);
    } else if (flag == "--payload-bytes") {
      s.payload_bytes = std::stoul(value);
    } else if (flag == "--threads") {
      s.threads = value;
    } else if (flag == "--members") {
      s.members = std::stoi(value);
    } else if (flag == "--target") {
      s.target = value;
    } else if (flag == "--route") {
      s.route = value;
    } else if (flag == "--field") {
      s.field = value;
    } else if (flag == "--secrets") {
      s.secrets = SplitList(value);
    } else if (flag == "--minutes") {
      s.minutes = std::stod(value);
    } else if (flag == "--worker") {
      s.worker = value;
    } else if (flag == "--worker-args") {
      std::stringstream words(value);
      for (std::string w; words >> w;) s.worker_args.push_back(w);
    } else if (flag == "--base-port") {
      s.base_port = std::stoi(value);
    } else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      std::exit(2);
    }
  }
  return s;
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
  auto with_extra_args = [&](std::vector<std::string> args) {
    args.insert(args.end(), s.worker_args.begin(), s.worker_args.end());
    return args;
  };
  if (s.members <= 1) {
    const std::string http = "127.0.0.1:" + std::to_string(s.base_port);
    workers.push_back(std::make_unique<testsupport::ProcessUnderTest>(testsupport::ProcessUnderTest::Options{
        .binary = s.worker, .args = with_extra_args({"--http", http, "--threads", s.threads})}));
    return workers;
  }
  std::vector<std::uint16_t> http_ports, peer_ports;
  std::string peers;
  for (int i = 0; i < s.members; ++i) {
    const bool fixed = s.base_port > 0;
    http_ports.push_back(fixed ? static_cast<std::uint16_t>(s.base_port + i) : testsupport::FreeLoopbackPort());
    peer_ports.push_back(fixed ? static_cast<std::uint16_t>(s.base_port + 50 + i) : testsupport::FreeLoopbackPort());
    peers += (i ? "," : "") + ("m" + std::to_string(i)) + "=127.0.0.1:" + std::to_string(peer_ports.back());
  }
  for (int i = 0; i < s.members; ++i) {
    const std::string name = "m" + std::to_string(i);
    workers.push_back(std::make_unique<testsupport::ProcessUnderTest>(testsupport::ProcessUnderTest::Options{
        .binary = s.worker,
        .args = with_extra_args({"--node-id", name, "--http", "127.0.0.1:" + std::to_string(http_ports[i]), "--peer",
                                 "127.0.0.1:" + std::to_string(peer_ports[i]), "--peers", peers, "--data-dir",
                                 (root / name).string(), "--threads", s.threads}),
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

// The outcome of one run at one client count.
struct RunResult {
  std::vector<double> latencies;  // ms, of the requests answered 200, sorted
  std::map<int, int> statuses;    // answers by HTTP status; 0: connection error or timeout
  std::map<std::string, int> ran_on;
  double seconds = 0;
};

// `clients` threads, each on its own kept-alive connection, send the forms in turn (request i
// sends forms[i % size]) and the next request as soon as the previous answer has arrived.
RunResult RunLoad(const std::string& host, std::uint16_t port, const Settings& s,
                  const std::vector<testsupport::MultipartBuilder>& forms, int clients) {
  const int requests = s.requests_per_client > 0 ? s.requests_per_client * clients : s.requests;
  {
    testsupport::HttpClient warm(host, port);
    for (int i = 0; i < s.warmup; ++i) warm.PostMultipart(s.route, forms[static_cast<size_t>(i) % forms.size()]);
  }
  std::vector<RunResult> per_client(static_cast<size_t>(clients));
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      RunResult& mine = per_client[static_cast<size_t>(c)];
      testsupport::HttpClient client(host, port);
      for (int i = c; i < requests; i += clients) {
        const auto t0 = Clock::now();
        int status = 0;
        std::string member = "?";
        try {
          const auto response = client.PostMultipart(s.route, forms[static_cast<size_t>(i) % forms.size()]);
          status = response.status;
          member = response.Header("X-Stego-Member").value_or("?");
        } catch (const std::exception&) {
          client.Close();  // counted as status 0; the next request opens a new connection
        }
        if (status == 200) {
          mine.latencies.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        }
        ++mine.statuses[status];
        ++mine.ran_on[member];
      }
    });
  }
  for (auto& t : threads) t.join();
  RunResult all;
  all.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  for (const auto& r : per_client) {
    all.latencies.insert(all.latencies.end(), r.latencies.begin(), r.latencies.end());
    for (const auto& [status, n] : r.statuses) all.statuses[status] += n;
    for (const auto& [member, n] : r.ran_on) all.ran_on[member] += n;
  }
  std::sort(all.latencies.begin(), all.latencies.end());
  return all;
}

std::vector<testsupport::MultipartBuilder> Forms(const Settings& s) {
  std::vector<testsupport::MultipartBuilder> forms;
  if (s.secrets.empty()) {
    std::string payload(s.payload_bytes, '\0');
    std::mt19937 rng(42);
    for (auto& ch : payload) ch = static_cast<char>(rng());  // incompressible, like most files
    forms.emplace_back().File(s.field, "payload.bin", "application/octet-stream", payload);
  }
  for (const auto& path : s.secrets) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "cannot read %s\n", path.c_str());
      std::exit(2);
    }
    const std::string data{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    const std::string name = std::filesystem::path(path).filename().string();
    const bool png = name.ends_with(".png");
    forms.emplace_back().File(s.field, name, png ? "image/png" : "application/octet-stream", data);
  }
  return forms;
}

void PrintHeader(const Settings& s) {
  if (s.tsv) {
    std::printf("clients\trequests\tseconds\trequests_per_s\tp50_ms\tp95_ms\tp99_ms\tmax_ms\tstatuses\n");
  } else {
    std::printf("| clients | requests | p50 ms | p90 ms | p99 ms | max ms | requests/s |\n");
    std::printf("|---|---|---|---|---|---|---|\n");
  }
}

// Percentiles and requests/s count the requests answered 200; the others are listed by status.
void PrintRow(const Settings& s, int clients, const RunResult& r) {
  const auto& l = r.latencies;
  const double ok_per_s = static_cast<double>(l.size()) / r.seconds;
  const double max = l.empty() ? 0 : l.back();
  int requests = 0;
  std::string statuses;
  for (const auto& [status, n] : r.statuses) {
    requests += n;
    statuses += (statuses.empty() ? "" : " ") + std::to_string(status) + ":" + std::to_string(n);
  }
  if (s.tsv) {
    std::printf("%d\t%d\t%.3f\t%.2f\t%.1f\t%.1f\t%.1f\t%.1f\t%s\n", clients, requests, r.seconds, ok_per_s,
                Percentile(l, 50), Percentile(l, 95), Percentile(l, 99), max, statuses.c_str());
  } else {
    std::printf("| %d | %d | %.1f | %.1f | %.1f | %.1f | %.1f |\n", clients, requests, Percentile(l, 50),
                Percentile(l, 90), Percentile(l, 99), max, ok_per_s);
    if (l.size() != static_cast<size_t>(requests)) std::printf("(answers by status: %s)\n", statuses.c_str());
  }
  std::fflush(stdout);
}

bool IsOverloaded(const testsupport::HttpResponse& response) {
  return response.status == 503 && response.body.find("\"overloaded\"") != std::string::npos;
}

double LoadAverage1m() {
  std::ifstream in("/proc/loadavg");
  double one = 0;
  in >> one;
  return one;
}

// What the liveness benchmark saw.
struct LivenessReport {
  std::vector<double> latencies_ms;
  int failed = 0;
  int refused = 0;
  std::uint64_t first_term = 0, last_term = 0;
  int term_changes = 0;  // increases of the highest term any member reported
  std::vector<double> load_samples;
};

// Polls every member's /raft/status until `stop`, counting each rise of the highest term seen.
void WatchTerms(const std::vector<std::unique_ptr<testsupport::ProcessUnderTest>>& workers,
                const std::atomic<bool>& stop, LivenessReport& report) {
  std::vector<std::unique_ptr<testsupport::HttpClient>> clients;
  for (const auto& w : workers) {
    clients.push_back(std::make_unique<testsupport::HttpClient>(w->host(), w->port(), std::chrono::seconds(2)));
  }
  auto last_load_sample = Clock::now();
  while (!stop.load()) {
    for (auto& client : clients) {
      try {
        const auto status = nlohmann::json::parse(client->Get("/raft/status").body, nullptr, false);
        if (!status.is_object() || !status["term"].is_number()) continue;
        const std::uint64_t term = status["term"];
        if (report.first_term == 0) report.first_term = report.last_term = term;
        if (term > report.last_term) {
          ++report.term_changes;
          report.last_term = term;
          std::printf("  term %llu seen at %s\n", static_cast<unsigned long long>(term),
                      status.value("id", "?").c_str());
        }
      } catch (const std::exception&) {
        client->Close();  // a slow answer is not an election; try again next round
      }
    }
    if (Clock::now() - last_load_sample >= std::chrono::seconds(5)) {
      report.load_samples.push_back(LoadAverage1m());
      last_load_sample = Clock::now();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

int CountLines(const std::string& text, const std::string& needle) {
  int n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// Saturates every member with embeds for `minutes` and counts the elections meanwhile.
int RunLiveness(const Settings& s, const std::vector<std::unique_ptr<testsupport::ProcessUnderTest>>& workers,
                const testsupport::MultipartBuilder& form) {
  const int clients = s.clients.front();
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s.minutes * 60));
  LivenessReport report;
  std::atomic<bool> stop{false};
  std::thread watcher([&] { WatchTerms(workers, stop, report); });
  std::vector<LivenessReport> per_client(static_cast<size_t>(clients));
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      const auto& worker = *workers[static_cast<size_t>(c) % workers.size()];
      testsupport::HttpClient client(worker.host(), worker.port());
      LivenessReport& mine = per_client[static_cast<size_t>(c)];
      while (Clock::now() < deadline) {
        const auto t0 = Clock::now();
        try {
          const auto response = client.PostMultipart("/api/v1/embed", form);
          if (IsOverloaded(response)) ++mine.refused;
          else if (response.status != 200) ++mine.failed;
          else mine.latencies_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        } catch (const std::exception&) {
          ++mine.failed;
          client.Close();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  stop = true;
  watcher.join();
  for (const auto& mine : per_client) {
    report.latencies_ms.insert(report.latencies_ms.end(), mine.latencies_ms.begin(), mine.latencies_ms.end());
    report.failed += mine.failed;
    report.refused += mine.refused;
  }
  std::sort(report.latencies_ms.begin(), report.latencies_ms.end());
  int became_leader = 0, stepped_down = 0;
  for (const auto& w : workers) {
    const std::string log = w->Output();
    became_leader += CountLines(log, "became leader");
    stepped_down += CountLines(log, "stepping down: quorum not active");
  }
  double load_max = 0, load_sum = 0;
  for (double l : report.load_samples) {
    load_max = std::max(load_max, l);
    load_sum += l;
  }
  const double load_mean = report.load_samples.empty() ? 0 : load_sum / static_cast<double>(report.load_samples.size());
  std::printf("| minutes | clients | requests ok | refused | failed | p50 ms | p99 ms | term changes | "
              "became leader (incl. first) | quorum-lost step-downs | load avg mean / max |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
  std::printf("| %.1f | %d | %zu | %d | %d | %.0f | %.0f | %d (term %llu -> %llu) | %d | %d | %.1f / %.1f |\n",
              s.minutes, clients, report.latencies_ms.size(), report.refused, report.failed,
              Percentile(report.latencies_ms, 50), Percentile(report.latencies_ms, 99), report.term_changes,
              static_cast<unsigned long long>(report.first_term), static_cast<unsigned long long>(report.last_term),
              became_leader, stepped_down, load_mean, load_max);
  return report.term_changes == 0 ? 0 : 3;
}

}  // namespace

int main(int argc, char** argv) {
  const Settings settings = ParseArgs(argc, argv);
  const auto forms = Forms(settings);
  if (!settings.target.empty()) {
    const auto colon = settings.target.rfind(':');
    if (colon == std::string::npos) {
      std::fprintf(stderr, "--target wants host:port\n");
      return 2;
    }
    const std::string host = settings.target.substr(0, colon);
    const auto port = static_cast<std::uint16_t>(std::stoi(settings.target.substr(colon + 1)));
    PrintHeader(settings);
    for (int clients : settings.clients) PrintRow(settings, clients, RunLoad(host, port, settings, forms, clients));
    return 0;
  }
  const auto root = testsupport::FreshScratchDirectory("embed-load", "members-" + std::to_string(settings.members));
  const auto workers = StartWorkers(settings, root);
  const testsupport::ProcessUnderTest& worker = *workers.front();
  if (settings.minutes > 0) {
    const int code = RunLiveness(settings, workers, forms.front());
    std::filesystem::remove_all(root);
    return code;
  }

  PrintHeader(settings);
  std::vector<std::string> phase_report;
  for (int clients : settings.clients) {
    const auto before = PhaseTotals(workers);
    const RunResult run = RunLoad(worker.host(), worker.port(), settings, forms, clients);
    PrintRow(settings, clients, run);
    std::string line = "clients=" + std::to_string(clients) + ": jobs ran on";
    for (const auto& [member, n] : run.ran_on) line += " " + member + " " + std::to_string(n);
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
