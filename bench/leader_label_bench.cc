// How fast the leader label follows a dead leader: kill -9 of the leader pod's worker process, on
// the operator's test ground (a real control plane and controller-manager, the pod runner as the
// node, stego-operator as its ServiceAccount). Run inside the ground's network namespace:
//
//   tests/k8s/operator/e2e.sh build/bin build/bin/leader_label_bench [--trials 20]
//
// Per trial, from the kill, polled every 2 ms: (a) a surviving member says it leads (Raft's own
// failover: election timeout plus a vote), (b) the label `stegocluster.io/role=leader` is on that
// member alone, (c) the leader Service's EndpointSlices list only its address (the
// controller-manager's EndpointSlice controller reacting to the label). Between trials the killed
// member comes back (the pod runner restarts it) and the cluster is Ready again.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "tests/k8s/client/k8s_test_env.h"
#include "tests/k8s/operator/ground.h"
#include "tests/support/test_helpers.h"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testsupport::Percentile;

constexpr char kNs[] = "bench";

double MsSince(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

bool WaitReady(operatortest::Ground& ground, std::chrono::seconds deadline) {
  return k8stest::Eventually(
      [&] {
        const auto cluster = ground.Cluster(kNs, "demo");
        const std::string leader = cluster.value("status", operatortest::Json::object()).value("leader", "");
        return operatortest::Ground::ConditionOf(cluster, "Ready") == "True/Ready" &&
               ground.RoutedTo(kNs, "demo", leader);
      },
      deadline);
}

void Report(const char* what, const std::vector<double>& ms) {
  std::printf("| %s | %.0f | %.0f | %.0f | %.0f |\n", what, Percentile(ms, 50), Percentile(ms, 90), Percentile(ms, 99),
              Percentile(ms, 100));
}

}  // namespace

int main(int argc, char** argv) {
  int trials = 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--trials") == 0) trials = std::atoi(argv[i + 1]);
  }
  operatortest::Ground ground;
  k8stest::EnsureNamespace(ground.admin(), kNs);
  auto op = ground.StartOperator("bench-operator");
  ground.ApplyCluster(kNs, "demo", "{image: stego-worker}");
  if (!WaitReady(ground, 180s)) {
    std::fprintf(stderr, "the cluster did not turn Ready; logs in %s\n", ground.logs().c_str());
    return 1;
  }
  std::vector<double> elected, labelled, routed, lag;
  for (int trial = 1; trial <= trials; ++trial) {
    const std::string old = ground.Cluster(kNs, "demo")["status"]["leader"];
    const int pid = ground.PidOf(kNs, old);
    const auto t0 = Clock::now();
    if (pid <= 0 || ::kill(pid, SIGKILL) != 0) {
      std::fprintf(stderr, "trial %d: cannot kill %s (pid %d)\n", trial, old.c_str(), pid);
      return 1;
    }
    double a = -1, b = -1, c = -1;
    std::string next;
    while (MsSince(t0) < 30'000 && (a < 0 || b < 0 || c < 0)) {
      if (a < 0) {
        next = ground.SelfDeclaredLeader(kNs, "demo");
        if (!next.empty() && next != old) a = MsSince(t0);
      }
      if (a >= 0 && b < 0 && ground.LabelledLeader(kNs, "demo") == next) b = MsSince(t0);
      if (a >= 0 && c < 0 && ground.SliceAddresses(kNs, "demo-leader") == std::set<std::string>{ground.IpOf(kNs, next)}) {
        c = MsSince(t0);
      }
      std::this_thread::sleep_for(2ms);
    }
    if (a < 0 || b < 0 || c < 0) {
      std::fprintf(stderr, "trial %d: no new leader routed within 30 s (%.0f %.0f %.0f); logs in %s\n", trial, a, b, c,
                   ground.logs().c_str());
      return 1;
    }
    elected.push_back(a);
    labelled.push_back(b);
    routed.push_back(c);
    lag.push_back(b - a);
    std::printf("trial %2d: %s -> %s  elected %4.0f ms  labelled %4.0f ms  routed %4.0f ms\n", trial, old.c_str(),
                next.c_str(), a, b, c);
    std::fflush(stdout);
    if (!WaitReady(ground, 120s)) {
      std::fprintf(stderr, "trial %d: not Ready again; logs in %s\n", trial, ground.logs().c_str());
      return 1;
    }
  }
  std::printf("\n%d trials, ms from the kill -9:\n\n| | p50 | p90 | p99 | max |\n|---|---|---|---|---|\n", trials);
  Report("(a) a member says it leads", elected);
  Report("(b) the label is on it alone", labelled);
  Report("(c) the leader Service lists only it", routed);
  Report("(b) - (a): the operator's own lag", lag);
  return 0;
}
