// stegoctl bench: a load generator for the stego API, and what the prototype's loadgen did (its
// flag names are aliases here: --num-clients, --reqs-per-client, --duration-secs, --server-list).
//
// Closed loop by default: each client sends its next request when the last one is answered. With
// --rate the load is open: request i is due at start + i/rate whatever happened before, and its
// latency counts from that due time, so a slow server cannot hide its queue by slowing the
// clients down (coordinated omission). Every request follows the retry rule (ApiClient), its
// latency including the retries: a failover shows as the latency and the errors it really costs.
// Requests due in the warm-up are sent but not counted.
#include <malloc.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include "cli/commands.h"
#include "cli/latency_histogram.h"
#include "cli/multipart.h"

namespace stegoctl {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

enum class Mode { kEmbed, kExtract, kMixed };

struct Plan {
  Mode mode = Mode::kEmbed;
  int clients = 4;
  long requests_per_client = 100;             // counted ones, when no duration
  std::optional<std::chrono::milliseconds> duration;  // counted time
  double rate = 0;                             // requests/s over all clients; 0: closed loop
  std::chrono::milliseconds warmup{1000};
  std::optional<std::string> file;  // hidden by every embed instead of the short message
};

// What one client saw; merged at the end.
struct Tally {
  LatencyHistogram latency;  // of the successes
  long ok = 0;
  long retried = 0;          // answered after more than one try
  std::map<std::string, long> errors;   // by kind: "503 no_leader", "no answer", ...
  std::map<std::string, long> members;  // successes by the member that computed them
  void Merge(const Tally& other) {
    latency.Merge(other.latency);
    ok += other.ok;
    retried += other.retried;
    for (const auto& [k, n] : other.errors) errors[k] += n;
    for (const auto& [k, n] : other.members) members[k] += n;
  }
};

std::string ErrorKind(const Response& r) {
  if (r.status == 0) return "no answer";
  const json body = r.Json();
  const std::string code = body.is_object() ? body.value("code", "") : "";
  return std::to_string(r.status) + (code.empty() ? "" : " " + code);
}

class Bench {
 public:
  // The client is made here, before the threads that share it.
  Bench(Context& ctx, Plan plan) : client_(ctx.client()), plan_(plan) {}

  json Run() {
    PrepareRequests();
    std::vector<Tally> tallies(plan_.clients);
    start_ = Clock::now();
    measure_from_ = start_ + plan_.warmup;
    std::vector<std::thread> clients;
    for (int c = 0; c < plan_.clients; ++c) clients.emplace_back([this, c, &tallies] { Client(c, tallies[c]); });
    std::thread progress([this] { ReportProgress(); });
    for (auto& t : clients) t.join();
    finished_ = true;
    progress.join();
    Tally total;
    for (const Tally& t : tallies) total.Merge(t);
    const double seconds = std::chrono::duration<double>(last_end_.load() - measure_from_).count();
    return Summary(total, std::max(seconds, 0.0));
  }

 private:
  // The embed form, and for extracts a stego image made once before the run.
  void PrepareRequests() {
    MultipartForm embed;
    if (plan_.file) {
      embed.File("file", std::filesystem::path(*plan_.file).filename().string(), "application/octet-stream",
                 ReadInput(*plan_.file));
    } else {
      embed.Field("message", "stegoctl bench: a short message hidden in the default cover");
    }
    embed_ = {.method = "POST", .target = "/api/v1/embed", .body = embed.Body(), .content_type = embed.ContentType()};
    if (plan_.mode == Mode::kEmbed) return;
    const Response image = Expect2xx("bench: the image to extract from", client_.Send(embed_));
    MultipartForm extract;
    extract.File("file", "bench.png", "image/png", image.body);
    extract_ = {.method = "POST", .target = "/api/v1/extract", .body = extract.Body(), .content_type = extract.ContentType()};
  }

  // The next request's number and due time; nullopt once the run is over.
  std::optional<std::pair<long, Clock::time_point>> Next() {
    const long i = issued_++;
    Clock::time_point due = Clock::now();
    if (plan_.rate > 0) due = start_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(i / plan_.rate));
    if (plan_.duration && due >= measure_from_ + *plan_.duration) return std::nullopt;
    if (!plan_.duration && due >= measure_from_ && counted_++ >= plan_.requests_per_client * plan_.clients) {
      return std::nullopt;
    }
    return std::pair{i, due};
  }

  void Client(int c, Tally& tally) {
    while (auto next = Next()) {
      const auto [i, due] = *next;
      std::this_thread::sleep_until(due);
      const bool extract = plan_.mode == Mode::kExtract || (plan_.mode == Mode::kMixed && i % 2 == 1);
      const Response r = client_.Send(extract ? extract_ : embed_, static_cast<std::size_t>(c + i));
      const auto end = Clock::now();
      done_++;
      if (due < measure_from_) continue;  // warm-up
      Clock::time_point seen = last_end_.load();
      while (end > seen && !last_end_.compare_exchange_weak(seen, end)) {
      }
      if (r.status == 200) {
        tally.latency.Record(std::chrono::duration_cast<std::chrono::microseconds>(end - due));
        ++tally.ok;
        if (r.tries > 1) ++tally.retried;
        ++tally.members[r.Header("X-Stego-Member").empty() ? r.server : r.Header("X-Stego-Member")];
      } else {
        ++tally.errors[ErrorKind(r)];
        errors_++;
      }
    }
  }

  // A live line on a terminal: requests done, the last second's rate, errors so far.
  void ReportProgress() {
    if (!StderrIsTerminal()) return;
    long before = 0;
    while (!finished_) {
      for (int tick = 0; tick < 10 && !finished_; ++tick) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      const long now = done_.load();
      std::cerr << "\r" << std::fixed << std::setprecision(1)
                << std::chrono::duration<double>(Clock::now() - start_).count() << " s  " << now << " done  "
                << (now - before) << "/s  " << errors_.load() << " errors" << (Clock::now() < measure_from_ ? "  (warm-up)" : "")
                << "\033[K" << std::flush;
      before = now;
    }
    std::cerr << "\n";
  }

  json Summary(const Tally& t, double seconds) const {
    const auto ms = [&](double q) { return t.latency.Quantile(q).count() / 1000.0; };
    long errors = 0;
    for (const auto& [kind, n] : t.errors) errors += n;
    return {
        {"mode", plan_.mode == Mode::kEmbed ? "embed" : plan_.mode == Mode::kExtract ? "extract" : "mixed"},
        {"clients", plan_.clients},
        {"rate", plan_.rate > 0 ? json(plan_.rate) : json()},
        {"servers", client_.servers()},
        {"warmup_s", plan_.warmup.count() / 1000.0},
        {"seconds", seconds},
        {"requests", t.ok + errors},
        {"ok", t.ok},
        {"errors", errors},
        {"errors_by_kind", t.errors},
        {"retried", t.retried},
        {"throughput_rps", seconds > 0 ? t.ok / seconds : 0.0},
        {"latency_ms", {{"p50", ms(0.5)}, {"p90", ms(0.9)}, {"p95", ms(0.95)}, {"p99", ms(0.99)}, {"p99.9", ms(0.999)},
                        {"max", t.latency.max().count() / 1000.0}}},
        {"members", t.members},
    };
  }

  const ApiClient& client_;
  const Plan plan_;
  Request embed_, extract_;
  Clock::time_point start_, measure_from_;
  std::atomic<long> issued_ = 0, counted_ = 0, done_ = 0, errors_ = 0;
  std::atomic<Clock::time_point> last_end_{};
  std::atomic<bool> finished_ = false;
};

void PrintSummary(std::ostream& out, const json& s) {
  out << std::fixed << std::setprecision(1);
  out << s["mode"].get<std::string>() << ": " << s["requests"] << " requests in " << s["seconds"].get<double>() << " s from "
      << s["clients"] << " clients" << (s["rate"].is_null() ? "" : " at " + s["rate"].dump() + "/s offered")
      << " (warm-up of " << s["warmup_s"].get<double>() << " s excluded)\n";
  out << "  ok " << s["ok"] << ", errors " << s["errors"] << ", answered after a retry " << s["retried"] << "\n";
  out << "  throughput " << s["throughput_rps"].get<double>() << " req/s\n";
  out << "  latency ms:";
  for (const char* q : {"p50", "p90", "p95", "p99", "p99.9", "max"}) out << "  " << q << " " << s["latency_ms"][q].get<double>();
  out << "\n";
  if (!s["errors_by_kind"].empty()) {
    Table errors({"error", "count"});
    for (const auto& [kind, n] : s["errors_by_kind"].items()) errors.Add({kind, n.dump()});
    errors.Print(out);
  }
  Table members({"member", "ok", "share"});
  for (const auto& [member, n] : s["members"].items()) {
    const double share = 100.0 * n.get<double>() / std::max(1.0, s["ok"].get<double>());
    std::ostringstream pct;
    pct << std::fixed << std::setprecision(1) << share << "%";
    members.Add({member, n.dump(), pct.str()});
  }
  members.Print(out);
}

Plan PlanFrom(Context& ctx) {
  Plan plan;
  const std::string mode = ctx.Get<std::string>("mode").value_or("embed");
  if (mode == "embed") plan.mode = Mode::kEmbed;
  else if (mode == "extract") plan.mode = Mode::kExtract;
  else if (mode == "mixed") plan.mode = Mode::kMixed;
  else throw CommandError(kUsage, "--mode is embed, extract or mixed, not " + mode);
  for (const char* name : {"clients", "num-clients"}) {
    if (auto n = ctx.Get<int>(name)) plan.clients = *n;
  }
  for (const char* name : {"requests", "reqs-per-client"}) {
    if (auto n = ctx.Get<long>(name)) plan.requests_per_client = *n;
  }
  for (const char* name : {"duration", "duration-secs"}) {
    if (auto s = ctx.Get<double>(name)) plan.duration = std::chrono::milliseconds(static_cast<long>(*s * 1000));
  }
  plan.rate = ctx.Get<double>("rate").value_or(0);
  plan.file = ctx.Get<std::string>("file");
  plan.warmup = std::chrono::milliseconds(static_cast<long>(ctx.Get<double>("warmup").value_or(1) * 1000));
  // Bounds that keep a typo from becoming a denial of service of one's own cluster.
  if (plan.clients < 1 || plan.clients > 1000) throw CommandError(kUsage, "--clients is 1 to 1000");
  if (plan.requests_per_client < 1 || plan.requests_per_client > 10'000'000) throw CommandError(kUsage, "--requests is 1 to 10000000");
  if (plan.duration && (plan.duration->count() <= 0 || plan.duration->count() > 86'400'000)) {
    throw CommandError(kUsage, "--duration is seconds in (0, 86400]");
  }
  if (plan.rate < 0 || plan.rate > 1e6 || std::isnan(plan.rate)) throw CommandError(kUsage, "--rate is requests per second in [0, 1000000]");
  if (plan.warmup.count() < 0 || plan.warmup.count() > 3'600'000) throw CommandError(kUsage, "--warmup is seconds in [0, 3600]");
  return plan;
}

int RunBench(Context& ctx) {
  if (!ctx.Arguments().empty()) throw CommandError(kUsage, "bench takes no arguments");
  // Every answer is a fresh multi-megabyte buffer. Left to glibc's defaults, each one is mapped
  // from and returned to the kernel, and its page faults cost more than reading it (p50 of a
  // 3 MB answer: 20 ms against 13 with the heap kept): the bench measures the cluster, not those.
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  const json summary = Bench(ctx, PlanFrom(ctx)).Run();
  if (ctx.json()) {
    ctx.out() << summary.dump() << "\n";
  } else {
    PrintSummary(ctx.out(), summary);
  }
  return summary["ok"].get<long>() > 0 ? kOk : kUnavailable;
}

}  // namespace

Command BenchCommand() {
  return {"bench", "[--mode embed|extract|mixed] [--clients N] [--requests N | --duration S] [--rate R]",
          "load the cluster and report throughput, latency percentiles, errors and members",
          [](po::options_description& o) {
            o.add_options()("mode", po::value<std::string>(), "embed (default), extract or mixed (alternating)")
                           ("clients,c", po::value<int>(), "concurrent clients (default 4)")
                           ("num-clients", po::value<int>(), "the same (the prototype's name)")
                           ("requests,n", po::value<long>(), "counted requests per client (default 100)")
                           ("reqs-per-client", po::value<long>(), "the same (the prototype's name)")
                           ("duration,d", po::value<double>(), "seconds to count for, instead of --requests")
                           ("duration-secs", po::value<double>(), "the same (the prototype's name)")
                           ("rate,r", po::value<double>(), "requests per second over all clients, open loop (default: closed loop)")
                           ("warmup", po::value<double>(), "seconds sent but not counted first (default 1)")
                           ("file", po::value<std::string>(), "hide this file in every embed (default: a short message)");
          },
          RunBench};
}

}  // namespace stegoctl
