// Deterministic simulator for the Raft core.
//
// One seed drives everything: the cluster's fault profile, the network (loss, duplication,
// reordering, delay, symmetric and one-way partitions), node crashes that lose unsynced writes,
// restarts from durable state, pauses, clock skew (each node ticks at its own rate), client
// proposals and reads, membership changes and leadership transfers. After every event the checker
// verifies Raft's safety properties; after the faults heal it checks liveness. The same seed
// replays the same run exactly (no wall clock, no threads, ordered containers only).
#pragma once

#include <cstdint>
#include <string>

namespace raft::sim {

struct Options {
  std::uint64_t seed = 1;
  int nodes = 3;          // initial voters: 3, 5 or 7
  int verbosity = 0;      // 1: fault and role events; 2: also the core's own log
  // Simulator-level mutation: send a Ready's messages before its writes are synced (breaks
  // "persist before send"). Core mutations are selected through raft::mutation::Set.
  bool ack_before_sync = false;
  // Check every acknowledgement as it leaves a node against that node's *durable* state (an
  // accepted append must be on disk, a granted vote recorded). Turned off only to show that the
  // safety checks also catch ack_before_sync through its consequences.
  bool check_acks = true;
  // Check Figure 2's commit rule directly: when a leader's commit index moves, the entry there is
  // of the leader's term. Turned off only to hunt for the rule's downstream consequences.
  bool check_commit_rule = true;
};

struct Stats {
  std::uint64_t events = 0;
  std::uint64_t sim_time_us = 0;
  std::uint64_t messages = 0;
  std::uint64_t dropped = 0;
  std::uint64_t duplicated = 0;
  std::uint64_t max_term = 0;
  std::uint64_t leaders_elected = 0;
  std::uint64_t proposals = 0;
  std::uint64_t acked = 0;
  std::uint64_t committed = 0;  // highest committed index
  std::uint64_t reads = 0;
  std::uint64_t reads_checked = 0;
  std::uint64_t crashes = 0;
  std::uint64_t unsynced_lost = 0;  // crashes that dropped unsynced writes
  std::uint64_t partitions = 0;
  std::uint64_t pauses = 0;
  std::uint64_t churn_crashes = 0;  // leaders crashed right after winning
  std::uint64_t old_term_commits = 0;  // leader commit moved onto an earlier-term entry
  std::uint64_t conf_changes = 0;  // configuration entries applied (first time)
  std::uint64_t transfers = 0;
  std::uint64_t snapshots_installed = 0;
  std::uint64_t heal_to_leader_us = 0;
  std::uint64_t heal_to_converged_us = 0;

  void add(const Stats& o);
};

struct RunResult {
  bool ok = true;
  std::string invariant;  // which property failed (empty when ok)
  std::string detail;
  std::uint64_t at_us = 0;  // simulated time of the failure
  Stats stats;
};

RunResult Run(const Options& opts);

// Steady-state throughput of a fault-free 3-node cluster: proposals committed (applied on the
// leader) per wall-clock second, with `inflight` proposals kept outstanding.
struct BenchResult {
  std::uint64_t committed = 0;
  double wall_seconds = 0;
  double per_second = 0;
  double sim_seconds = 0;
};
BenchResult Bench(std::uint64_t proposals, int payload_bytes, int inflight);

}  // namespace raft::sim
