// raft_sim: run the deterministic Raft simulator over one seed or a range of seeds.
//
//   raft_sim --seed 42 --nodes 5 -v          replay one run, tracing faults and elections
//   raft_sim --seeds 0:2000 --nodes all      many runs; sizes 3/5/7 rotate with the seed
//   raft_sim --mutation vote_twice --seeds 0:500 --stop-at-first     (raft_sim_mutable only)
//   raft_sim --mutation-check                every mutation must be caught (raft_sim_mutable)
//   raft_sim --bench 200000                  fault-free 3-node throughput
//
// Exit status: 0 when every run passed (or, with --expect-failure / --mutation-check, when every
// mutation was caught); 1 otherwise. Every failure prints its seed and the replay command.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tests/sim/sim.h"
#include "worker/raft/mutation.h"

namespace {

using raft::sim::Options;
using raft::sim::RunResult;
using raft::sim::Stats;

int NodesFor(const std::string& nodes, std::uint64_t seed) {
  if (nodes == "all") {
    const int sizes[] = {3, 5, 7};
    return sizes[seed % 3];
  }
  return std::atoi(nodes.c_str());
}

struct Args {
  std::uint64_t seed_lo = 1, seed_hi = 2;  // [lo, hi)
  std::string nodes = "3";
  int verbosity = 0;
  std::string mutation = "none";
  bool stop_at_first = false;
  bool expect_failure = false;
  bool mutation_check = false;
  bool consequences_only = false;  // turn off the white-box checks (ack durability, commit rule)
  std::uint64_t bench = 0;
  int bench_payload = 64;
  int bench_inflight = 1024;
  std::uint64_t mutation_budget = 1500;  // seeds to try per mutation in --mutation-check
};

void Usage() {
  std::fprintf(stderr,
               "usage: raft_sim [--seed N | --seeds LO:HI | --seeds COUNT] [--nodes 3|5|7|all]\n"
               "                [-v | -vv] [--mutation NAME] [--stop-at-first] [--expect-failure]\n"
               "                [--mutation-check [--budget SEEDS]] [--bench PROPOSALS [--payload B]"
               " [--inflight N]]\n");
}

bool Parse(int argc, char** argv, Args& a) {
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (s == "--seed") {
      const char* v = next();
      if (!v) return false;
      a.seed_lo = std::strtoull(v, nullptr, 10);
      a.seed_hi = a.seed_lo + 1;
    } else if (s == "--seeds") {
      const char* v = next();
      if (!v) return false;
      std::string r = v;
      auto colon = r.find(':');
      if (colon == std::string::npos) {
        a.seed_lo = 0;
        a.seed_hi = std::strtoull(r.c_str(), nullptr, 10);
      } else {
        a.seed_lo = std::strtoull(r.substr(0, colon).c_str(), nullptr, 10);
        a.seed_hi = std::strtoull(r.substr(colon + 1).c_str(), nullptr, 10);
      }
    } else if (s == "--nodes") {
      const char* v = next();
      if (!v) return false;
      a.nodes = v;
    } else if (s == "-v") {
      a.verbosity = 1;
    } else if (s == "-vv") {
      a.verbosity = 2;
    } else if (s == "--mutation") {
      const char* v = next();
      if (!v) return false;
      a.mutation = v;
    } else if (s == "--consequences-only") {
      a.consequences_only = true;
    } else if (s == "--stop-at-first") {
      a.stop_at_first = true;
    } else if (s == "--expect-failure") {
      a.expect_failure = true;
      a.stop_at_first = true;
    } else if (s == "--mutation-check") {
      a.mutation_check = true;
    } else if (s == "--budget") {
      const char* v = next();
      if (!v) return false;
      a.mutation_budget = std::strtoull(v, nullptr, 10);
    } else if (s == "--bench") {
      const char* v = next();
      if (!v) return false;
      a.bench = std::strtoull(v, nullptr, 10);
    } else if (s == "--payload") {
      const char* v = next();
      if (!v) return false;
      a.bench_payload = std::atoi(v);
    } else if (s == "--inflight") {
      const char* v = next();
      if (!v) return false;
      a.bench_inflight = std::atoi(v);
    } else {
      return false;
    }
  }
  return true;
}

// Applies a mutation name: core mutations through raft::mutation, "ack_before_sync" in the sim.
bool SelectMutation(const std::string& name, Options& o) {
  o.ack_before_sync = false;
  if (name == "ack_before_sync") {
    o.ack_before_sync = true;
#ifdef STEGO_RAFT_MUTATIONS
    raft::mutation::Set(raft::mutation::Kind::kNone);
#endif
    return true;
  }
  raft::mutation::Kind k;
  if (!raft::mutation::Parse(name.c_str(), &k)) return false;
#ifdef STEGO_RAFT_MUTATIONS
  raft::mutation::Set(k);
  return true;
#else
  return k == raft::mutation::Kind::kNone;  // the production library has no switches
#endif
}

void PrintStats(const Stats& s, std::uint64_t runs, double wall) {
  std::printf(
      "runs=%llu wall=%.1fs sim_time=%.0fs events=%llu msgs=%llu dropped=%llu dup=%llu "
      "max_term=%llu leaders=%llu proposals=%llu acked=%llu reads=%llu/%llu crashes=%llu "
      "(unsynced_lost=%llu, leader_churn=%llu) partitions=%llu pauses=%llu conf_entries=%llu "
      "transfers=%llu "
      "snapshots_installed=%llu old_term_commits=%llu worst_heal_to_leader=%.0fms "
      "worst_heal_to_converged=%.0fms\n",
      (unsigned long long)runs, wall, static_cast<double>(s.sim_time_us) / 1e6,
      (unsigned long long)s.events, (unsigned long long)s.messages, (unsigned long long)s.dropped,
      (unsigned long long)s.duplicated, (unsigned long long)s.max_term,
      (unsigned long long)s.leaders_elected, (unsigned long long)s.proposals,
      (unsigned long long)s.acked, (unsigned long long)s.reads_checked,
      (unsigned long long)s.reads, (unsigned long long)s.crashes,
      (unsigned long long)s.unsynced_lost, (unsigned long long)s.churn_crashes,
      (unsigned long long)s.partitions,
      (unsigned long long)s.pauses, (unsigned long long)s.conf_changes,
      (unsigned long long)s.transfers, (unsigned long long)s.snapshots_installed,
      (unsigned long long)s.old_term_commits,
      static_cast<double>(s.heal_to_leader_us) / 1000, static_cast<double>(s.heal_to_converged_us) / 1000);
}

// Runs seeds [lo, hi); returns the first failing seed (or hi if none) and prints failures.
std::uint64_t RunSeeds(const Args& a, Options base, std::uint64_t lo, std::uint64_t hi,
                       bool quiet_failures, Stats& total, std::uint64_t& failures, RunResult* first,
                       std::uint64_t* runs = nullptr) {
  std::uint64_t first_fail = hi;
  for (std::uint64_t seed = lo; seed < hi; ++seed) {
    if (runs) ++*runs;
    Options o = base;
    o.seed = seed;
    o.nodes = NodesFor(a.nodes, seed);
    RunResult r = raft::sim::Run(o);
    total.add(r.stats);
    if (r.ok) continue;
    ++failures;
    if (first_fail == hi) {
      first_fail = seed;
      if (first) *first = r;
    }
    if (!quiet_failures) {
      std::printf("FAIL seed=%llu nodes=%d invariant=%s at=%.3fms: %s\n",
                  (unsigned long long)seed, o.nodes, r.invariant.c_str(),
                  static_cast<double>(r.at_us) / 1000, r.detail.c_str());
      std::printf("  replay: raft_sim%s --seed %llu --nodes %d%s%s -v\n",
                  a.mutation != "none" ? "_mutable" : "", (unsigned long long)seed, o.nodes,
                  a.mutation != "none" ? " --mutation " : "",
                  a.mutation != "none" ? a.mutation.c_str() : "");
      std::fflush(stdout);
    }
    if (a.stop_at_first) break;
  }
  return first_fail;
}

int MutationCheck(const Args& a) {
#ifndef STEGO_RAFT_MUTATIONS
  std::fprintf(stderr, "--mutation-check needs raft_sim_mutable\n");
  (void)a;
  return 2;
#else
  // Each mutation runs twice: with every check, and with only the black-box safety checks (the
  // white-box ones — acknowledgement durability and Figure 2's commit rule — turned off), to show
  // whether the damage itself is observed, not just the broken rule.
  const char* names[] = {"vote_without_log_check", "vote_twice", "commit_earlier_term",
                         "append_without_prev_check", "accept_stale_term",
                         "read_index_without_quorum", "conf_change_without_wait",
                         "ack_before_sync"};
  int missed = 0;
  std::printf("%-26s | %-6s %-22s | %-6s %-24s\n", "mutation", "seed", "invariant (all checks)",
              "seed", "invariant (black-box only)");
  for (const char* name : names) {
    std::string cols[2];
    std::string detail;
    for (int mode = 0; mode < 2; ++mode) {
      Options o;
      o.check_acks = o.check_commit_rule = mode == 0;
      SelectMutation(name, o);
      Args aa = a;
      aa.mutation = name;
      aa.stop_at_first = true;
      Stats total;
      std::uint64_t failures = 0;
      RunResult first;
      const std::uint64_t seed = RunSeeds(aa, o, 0, a.mutation_budget, true, total, failures, &first);
      char buf[160];
      if (seed == a.mutation_budget) {
        if (mode == 0) ++missed;
        std::snprintf(buf, sizeof buf, "%-6s %-24s", "-", ("none in " + std::to_string(a.mutation_budget)).c_str());
      } else {
        std::snprintf(buf, sizeof buf, "%-6llu %-24s", (unsigned long long)seed, first.invariant.c_str());
        if (mode == 0) detail = "nodes=" + std::to_string(NodesFor(a.nodes, seed)) + ": " + first.detail;
      }
      cols[mode] = buf;
    }
    std::printf("%-26s | %s | %s\n", name, cols[0].c_str(), cols[1].c_str());
    if (a.verbosity > 0) std::printf("    %s\n", detail.c_str());
    std::fflush(stdout);
  }
  Options reset;
  SelectMutation("none", reset);
  std::printf("%s: %d of %zu mutations escaped the full checks\n", missed ? "FAILED" : "PASSED",
              missed, sizeof names / sizeof names[0]);
  return missed == 0 ? 0 : 1;
#endif
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (!Parse(argc, argv, a)) {
    Usage();
    return 2;
  }
  if (a.bench) {
    auto r = raft::sim::Bench(a.bench, a.bench_payload, a.bench_inflight);
    std::printf("bench: 3 nodes, payload %d B, %d proposals in flight: %llu committed in %.2fs wall "
                "(%.0f sim s) = %.0f proposals/s\n",
                a.bench_payload, a.bench_inflight, (unsigned long long)r.committed, r.wall_seconds,
                r.sim_seconds, r.per_second);
    return 0;
  }
  if (a.mutation_check) {
    if (a.nodes == "3") a.nodes = "all";
    return MutationCheck(a);
  }
  Options base;
  base.verbosity = a.verbosity;
  base.check_acks = base.check_commit_rule = !a.consequences_only;
  if (!SelectMutation(a.mutation, base)) {
    std::fprintf(stderr, "unknown mutation '%s' (or not available in this binary)\n",
                 a.mutation.c_str());
    return 2;
  }
  Stats total;
  std::uint64_t failures = 0;
  const auto t0 = std::chrono::steady_clock::now();
  std::uint64_t runs = 0;
  RunSeeds(a, base, a.seed_lo, a.seed_hi, false, total, failures, nullptr, &runs);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  PrintStats(total, runs, wall);
  std::printf("%s: %llu of %llu seeds failed (seeds %llu..%llu, nodes %s%s%s)\n",
              failures ? "FAILED" : "PASSED", (unsigned long long)failures,
              (unsigned long long)runs, (unsigned long long)a.seed_lo,
              (unsigned long long)(a.seed_lo + runs - 1), a.nodes.c_str(),
              a.mutation != "none" ? ", mutation " : "", a.mutation != "none" ? a.mutation.c_str() : "");
  if (a.expect_failure) return failures ? 0 : 1;
  return failures ? 1 : 0;
}
