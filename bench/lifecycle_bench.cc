// What planned operations cost the clients, on the operator's test ground (a real control plane
// and controller-manager, the pod runner as the node, stego-operator as its ServiceAccount). Run
// inside the ground's network namespace:
//
//   tests/k8s/operator/e2e.sh build/bin build/bin/lifecycle_bench [--phase-seconds 20]
//
// Clients run throughout and follow the documented retry rule (docs/operator.md): two writers
// (PUT /api/v1/config with an Idempotency-Key, a 20 ms pause between writes) and one embedder
// (POST /api/v1/embed of a short message into the default cover, one after another); a request
// that fails to connect or gets 503 goes again to the next address, five tries at most, and its
// latency runs from the first try to the answer. Phases, in order:
//   1. floor: every request to one pod (the leader's address), no operation, no Service;
//   2. steady: the client Service's ready addresses (its EndpointSlices, refreshed every 100 ms),
//      no operation;
//   3. a rolling restart of 3 members (the StegoCluster's restartedAt annotation);
//   4. scaling out 3 -> 5: time from `kubectl scale` to each newcomer voting;
//   5. a rolling restart of 5 members;
//   6. scaling in 5 -> 3: time from `kubectl scale` until three pods remain and agree on 3 voters.
// During the rollouts a watcher polls who says it leads (every 20 ms); the leader label's lag is
// the time from a new member saying so to the label and the leader Service's slices naming it.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/k8s/client/k8s_test_env.h"
#include "tests/k8s/operator/ground.h"
#include "tests/support/http_client.h"
#include "tests/support/test_helpers.h"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using operatortest::Json;
using testsupport::HttpClient;
using testsupport::Percentile;

constexpr char kNs[] = "bench";
constexpr int kTries = 5;

double MsSince(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

// Where the clients send requests: one fixed address, or the client Service's ready addresses.
class Targets {
 public:
  explicit Targets(operatortest::Ground& ground) : ground_(ground), thread_([this] { Refresh(); }) {}
  ~Targets() {
    stop_ = true;
    thread_.join();
  }
  void Pin(std::string ip) {
    std::lock_guard lk(mu_);
    pinned_ = std::move(ip);
  }
  // The address for request n's try `attempt` ("" while there is none).
  std::string Pick(int n, int attempt) const {
    std::lock_guard lk(mu_);
    if (!pinned_.empty()) return pinned_;
    if (service_.empty()) return "";
    return service_[(n + attempt) % service_.size()];
  }

 private:
  void Refresh() {
    while (!stop_) {
      const auto addresses = ground_.SliceAddresses(kNs, "demo");
      {
        std::lock_guard lk(mu_);
        service_.assign(addresses.begin(), addresses.end());
      }
      std::this_thread::sleep_for(100ms);
    }
  }

  operatortest::Ground& ground_;
  mutable std::mutex mu_;
  std::string pinned_;
  std::vector<std::string> service_;
  std::atomic<bool> stop_ = false;
  std::thread thread_;
};

// Each request's latency and outcome, by phase and kind.
struct Tally {
  std::vector<double> ms;
  int errors = 0;
  std::string first_error;
};

class Clients {
 public:
  Clients(const Targets& targets, std::string admin_key) : targets_(targets), admin_key_(std::move(admin_key)) {
    for (int w = 0; w < 2; ++w) threads_.emplace_back([this, w] { Write(w); });
    threads_.emplace_back([this] { Embed(); });
  }
  ~Clients() {
    stop_ = true;
    for (auto& t : threads_) t.join();
  }
  void SetPhase(std::string phase) {
    std::lock_guard lk(mu_);
    phase_ = std::move(phase);
  }
  std::map<std::string, Tally> Of(const std::string& phase) {
    std::lock_guard lk(mu_);
    return tallies_[phase];
  }

 private:
  // One request under the retry rule: the answer, or what went wrong.
  template <class Send>
  void Run(const std::string& kind, int n, Send send) {
    const auto t0 = Clock::now();
    std::string phase;
    {
      std::lock_guard lk(mu_);
      phase = phase_;
    }
    std::string error = "no address";
    for (int attempt = 0; attempt < kTries && !error.empty(); ++attempt) {
      const std::string ip = targets_.Pick(n, attempt);
      if (ip.empty()) {
        std::this_thread::sleep_for(50ms);
        continue;
      }
      try {
        const auto answer = send(HttpClient(ip, 8081, 20s));
        error = answer.status == 200 ? "" : ip + ": " + std::to_string(answer.status) + " " + answer.body.substr(0, 200);
        if (!error.empty() && answer.status != 503) break;
      } catch (const std::exception& e) {
        error = ip + ": " + e.what();
      }
    }
    std::lock_guard lk(mu_);
    Tally& tally = tallies_[phase][kind];
    if (error.empty()) {
      tally.ms.push_back(MsSince(t0));
    } else if (tally.errors++ == 0) {
      tally.first_error = error;
    }
  }

  void Write(int writer) {
    for (int n = 1; !stop_; ++n) {
      const testsupport::HeaderList headers = {
          {"Authorization", "Bearer " + admin_key_},
          {"Content-Type", "application/json"},
          {"Idempotency-Key", "bench-w" + std::to_string(writer) + "-" + std::to_string(n)}};
      const std::string body = Json{{"max_pixels", 70'000'000 + writer * 1'000'000 + n}}.dump();
      Run("write", n, [&](HttpClient http) { return http.Request("PUT", "/api/v1/config", body, headers); });
      std::this_thread::sleep_for(20ms);
    }
  }

  void Embed() {
    for (int n = 1; !stop_; ++n) {
      Run("embed", n, [](HttpClient http) {
        return http.PostMultipart("/api/v1/embed", testsupport::MultipartBuilder().Field("message", "lifecycle bench"));
      });
    }
  }

  const Targets& targets_;
  const std::string admin_key_;
  std::mutex mu_;
  std::string phase_ = "warm-up";
  std::map<std::string, std::map<std::string, Tally>> tallies_;
  std::atomic<bool> stop_ = false;
  std::vector<std::thread> threads_;
};

// During a rollout: each time a new member says it leads, how long until it is labelled and
// routed (the label on it alone, the leader Service's slices listing only it).
class LabelLagWatch {
 public:
  explicit LabelLagWatch(operatortest::Ground& ground) : ground_(ground), thread_([this] { Run(); }) {}
  std::vector<double> Stop() {
    stop_ = true;
    thread_.join();
    return lags_;
  }

 private:
  void Run() {
    std::string routed = ground_.SelfDeclaredLeader(kNs, "demo");
    std::string pending;
    Clock::time_point since;
    while (!stop_) {
      const std::string now = ground_.SelfDeclaredLeader(kNs, "demo");
      if (!now.empty() && now != routed && now != pending) {
        pending = now;
        since = Clock::now();
      }
      if (!pending.empty() && ground_.RoutedTo(kNs, "demo", pending)) {
        lags_.push_back(MsSince(since));
        routed = pending;
        pending.clear();
      }
      std::this_thread::sleep_for(20ms);
    }
  }

  operatortest::Ground& ground_;
  std::vector<double> lags_;
  std::atomic<bool> stop_ = false;
  std::thread thread_;
};

std::set<std::string> VotersOf(operatortest::Ground& ground, const std::string& pod) {
  const Json status = ground.RaftStatus(kNs, pod);
  std::set<std::string> out;
  if (!status.is_object()) return out;
  for (const Json& v : status.value("voters", Json::array())) out.insert(v.get<std::string>());
  return out;
}

// demo-0 .. demo-<n-1> exist, are Ready (the roll-up), and each reports exactly them as voters.
bool Settled(operatortest::Ground& ground, int n) {
  std::set<std::string> want;
  for (int i = 0; i < n; ++i) want.insert("demo-" + std::to_string(i));
  if (ground.Pods(kNs, "demo").size() != want.size()) return false;
  for (const std::string& pod : want) {
    if (VotersOf(ground, pod) != want) return false;
  }
  return operatortest::Ground::ConditionOf(ground.Cluster(kNs, "demo"), "Ready") == "True/Ready";
}

bool Fail(const char* what, operatortest::Ground& ground) {
  std::fprintf(stderr, "%s; logs in %s\n", what, ground.logs().c_str());
  return false;
}

// A rolling restart by the annotation: seconds until every pod was replaced and the cluster settled.
std::optional<double> Rollout(operatortest::Ground& ground, int members, const std::string& stamp,
                              std::vector<double>& label_lags) {
  std::set<std::string> before;
  for (const Json& pod : ground.Pods(kNs, "demo")) before.insert(pod["metadata"]["uid"]);
  LabelLagWatch watch(ground);
  const auto t0 = Clock::now();
  k8stest::Shell("kubectl -n bench annotate --overwrite stegocluster/demo kubectl.kubernetes.io/restartedAt=" + stamp);
  const bool done = k8stest::Eventually([&] {
    for (const Json& pod : ground.Pods(kNs, "demo")) {
      if (before.contains(pod["metadata"]["uid"])) return false;
    }
    return Settled(ground, members);
  }, 600s);
  const double seconds = MsSince(t0) / 1000;
  const auto lags = watch.Stop();
  label_lags.insert(label_lags.end(), lags.begin(), lags.end());
  if (!done) return std::nullopt;
  return seconds;
}

void ReportPhase(const std::string& phase, double seconds, Clients& clients) {
  for (const auto& [kind, tally] : clients.Of(phase)) {
    std::printf("| %s | %.1f | %s | %zu | %.1f | %.1f | %.1f | %d |\n", phase.c_str(), seconds, kind.c_str(),
                tally.ms.size(), Percentile(tally.ms, 50), Percentile(tally.ms, 99), Percentile(tally.ms, 100),
                tally.errors);
    if (tally.errors > 0) std::printf("|   first error: %s |\n", tally.first_error.c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  int phase_seconds = 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--phase-seconds") == 0) phase_seconds = std::atoi(argv[i + 1]);
  }
  operatortest::Ground ground;
  k8stest::EnsureNamespace(ground.admin(), kNs);
  auto op = ground.StartOperator("bench-operator");
  ground.ApplyCluster(kNs, "demo", "{image: stego-worker}");
  if (!k8stest::Eventually([&] { return Settled(ground, 3); }, 180s)) return !Fail("the cluster did not settle", ground);
  auto secret = ground.admin().Get(kube::resources::kSecrets, kNs, "demo-auth");
  if (!secret) return !Fail("no demo-auth Secret", ground);

  Targets targets(ground);
  targets.Pin(ground.IpOf(kNs, ground.SelfDeclaredLeader(kNs, "demo")));
  Clients clients(targets, *kube::DecodeBase64((*secret)["data"]["admin-key"].get<std::string>()));
  std::this_thread::sleep_for(5s);  // warm-up, not counted

  std::vector<std::pair<std::string, double>> phases;  // phase → its duration in seconds
  const auto timed = [&](const std::string& phase, double seconds) {
    phases.emplace_back(phase, seconds);
    std::printf("%s: %.1f s\n", phase.c_str(), seconds);
    std::fflush(stdout);
  };
  clients.SetPhase("floor");
  std::this_thread::sleep_for(std::chrono::seconds(phase_seconds));
  timed("floor", phase_seconds);

  targets.Pin("");
  clients.SetPhase("steady");
  std::this_thread::sleep_for(std::chrono::seconds(phase_seconds));
  timed("steady", phase_seconds);

  std::vector<double> label_lags;
  clients.SetPhase("rollout-3");
  auto rolled = Rollout(ground, 3, "2026-12-04T20:00:00Z", label_lags);
  if (!rolled) return !Fail("the 3-member rollout did not finish", ground);
  timed("rollout-3", *rolled);

  clients.SetPhase("scale-out");
  auto t0 = Clock::now();
  k8stest::Shell("kubectl -n bench scale stegocluster/demo --replicas=5");
  for (const std::string newcomer : {"demo-3", "demo-4"}) {
    if (!k8stest::Eventually([&] { return VotersOf(ground, "demo-0").contains(newcomer); }, 300s)) {
      return !Fail("a newcomer was never promoted", ground);
    }
    std::printf("  %s votes %.1f s after kubectl scale\n", newcomer.c_str(), MsSince(t0) / 1000);
  }
  if (!k8stest::Eventually([&] { return Settled(ground, 5); }, 300s)) return !Fail("5 members did not settle", ground);
  timed("scale-out", MsSince(t0) / 1000);

  clients.SetPhase("rollout-5");
  rolled = Rollout(ground, 5, "2026-12-04T21:00:00Z", label_lags);
  if (!rolled) return !Fail("the 5-member rollout did not finish", ground);
  timed("rollout-5", *rolled);

  clients.SetPhase("scale-in");
  t0 = Clock::now();
  k8stest::Shell("kubectl -n bench scale stegocluster/demo --replicas=3");
  if (!k8stest::Eventually([&] { return Settled(ground, 3); }, 300s)) return !Fail("3 members did not settle", ground);
  timed("scale-in", MsSince(t0) / 1000);
  clients.SetPhase("done");

  std::printf("\n| phase | s | requests | answered | p50 ms | p99 ms | max ms | errors |\n|---|---|---|---|---|---|---|---|\n");
  for (const auto& [phase, seconds] : phases) ReportPhase(phase, seconds, clients);
  std::printf("\nleader label lag during the rollouts (%zu leader changes), ms:", label_lags.size());
  for (double ms : label_lags) std::printf(" %.0f", ms);
  std::printf("\n");
  return 0;
}
