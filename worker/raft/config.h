// Tunables of one Raft node. Time is counted in ticks: the caller calls Tick() at a fixed rate and
// chooses what a tick is worth. With the default 10 ms tick the defaults give the LAN timings of the
// design: heartbeat every 50 ms, election timeout randomized in [150 ms, 300 ms).
#pragma once

#include <cstddef>
#include <cstdint>

#include "worker/raft/types.h"

namespace raft {

class Logger;

struct Config {
  NodeId id = kNone;  // this node; must be > 0

  // Followers start an election after a randomized timeout in [election_tick, 2 * election_tick)
  // without hearing from a leader. The leader sends heartbeats every heartbeat_tick, and with
  // check_quorum steps down when it has not heard from a majority within election_tick.
  int election_tick = 15;
  int heartbeat_tick = 5;

  // Pre-vote (dissertation §9.6): a node first asks whether it *could* win before disturbing the
  // cluster with a higher term. Stops a node returning from a partition from deposing a healthy
  // leader.
  bool pre_vote = true;
  // Check-quorum: a leader that has not heard from a majority for an election timeout steps down,
  // and followers that heard from a leader within the timeout ignore vote requests (the "leader
  // lease" of §4.2.3, which also keeps removed servers from disrupting the cluster).
  bool check_quorum = true;

  // Replication batching and flow control (see progress.h).
  std::uint64_t max_size_per_msg = 1 << 20;  // entry bytes per AppendEntries (at least one entry)
  std::size_t max_inflight_msgs = 256;       // unacknowledged AppendEntries per follower
  std::uint64_t max_inflight_bytes = 0;      // 0 = no byte bound on the window
  std::uint64_t max_committed_size_per_ready = 64ULL << 20;  // committed entries per Ready
  // A leader refuses proposals while this many payload bytes are appended but not committed
  // (0 = unlimited): bounds memory when it cannot reach a quorum.
  std::uint64_t max_uncommitted_entries_size = 0;

  // Highest index the application had applied before this restart. It never counts for less than
  // the storage's snapshot, which the application restores from (so 0 means "from the snapshot").
  Index applied = 0;

  // Seed of the generator for randomized election timeouts. Mixed with `id`, so nodes sharing a
  // seed still draw different timeouts. Same seed + same inputs = same behaviour.
  std::uint64_t random_seed = 0;

  // Followers forward proposals and read-index requests to the leader unless this is set.
  bool disable_proposal_forwarding = false;

  Logger* logger = nullptr;  // optional, not owned

  Result<void> validate() const;
};

}  // namespace raft
