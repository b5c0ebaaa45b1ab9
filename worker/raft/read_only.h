// Pending read-index requests on the leader (Raft dissertation §6.4).
//
// A read arriving at the leader records the current commit index, then the leader confirms it is
// still the leader by a round of heartbeats. Rounds are numbered (per term; the counter restarts
// with every new leadership): each read starts a new round, and heartbeats carry the latest round
// number, which followers echo. A follower's answer to round r proves the leader was still
// followed *after* every read with round <= r arrived, so a read is served once a majority of
// voters answered a round >= its own.
//
// Why numbered rounds rather than the caller's read id: an answer must never be matched to a read
// that arrived after the heartbeat it answers. With ids, a duplicated (forwarded) read re-queued
// under an id already used would collect the old round's late answers — and release every read
// queued before it on a stale confirmation. The simulator found exactly that.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "worker/raft/types.h"

namespace raft {

class ReadOnly {
 public:
  struct Request {
    Index index = 0;        // commit index when the read arrived
    NodeId from = kNone;    // kNone when local; otherwise the follower that forwarded it
    std::string context;    // the caller's read id, returned with the answer
    std::uint64_t round = 0;  // heartbeat round that must be confirmed
  };

  // Queues a read and starts a new round for it; returns the round to send heartbeats with.
  std::uint64_t add(Index index, NodeId from, std::string context);
  // `id` answered heartbeat round `round`. Returns the reads this confirms (in arrival order):
  // those whose round a majority of `voters` has now answered; `self` always counts as current.
  std::vector<Request> recv_ack(NodeId id, std::uint64_t round, const std::vector<NodeId>& voters,
                                NodeId self);
  std::uint64_t round() const { return round_; }  // latest round started (0: none)
  void reset();
  std::size_t size() const { return queue_.size(); }

 private:
  std::uint64_t round_ = 0;
  std::deque<Request> queue_;               // ascending round
  std::map<NodeId, std::uint64_t> acked_;   // highest round each peer answered
};

}  // namespace raft
