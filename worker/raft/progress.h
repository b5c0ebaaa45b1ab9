// What the leader knows about each follower's log, and how fast it may send to it.
//
// Flow control follows etcd-io/raft's tracker: a follower is in one of three states.
//   kProbe:     we do not know where its log matches ours. Send one AppendEntries, then wait for
//               the answer (or the next heartbeat response) before sending another.
//   kReplicate: its log matches up to `match`; stream entries optimistically (`next` runs ahead of
//               `match`), with at most `max_inflight` unacknowledged messages (Inflights).
//   kSnapshot:  it needs entries we have compacted; a snapshot is on its way, send nothing else.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "worker/raft/types.h"

namespace raft {

// Sliding window of unacknowledged AppendEntries, bounded by count and by bytes. Each element is
// the last index a message carried; acknowledgements free everything up to an index.
class Inflights {
 public:
  Inflights(std::size_t max_count, std::uint64_t max_bytes)
      : max_count_(max_count), max_bytes_(max_bytes) {}

  void add(Index last, std::uint64_t bytes);
  void free_le(Index to);      // forget every message whose last index is <= to
  void free_first_one();       // make room for one probe after a full window stalls
  bool full() const;
  std::size_t count() const { return buf_.size(); }
  void reset();

 private:
  struct Item {
    Index last;
    std::uint64_t bytes;
  };
  std::vector<Item> buf_;  // ascending by `last`; small (max_count), so a vector is fine
  std::uint64_t bytes_ = 0;
  std::size_t max_count_;
  std::uint64_t max_bytes_;  // 0 = no byte limit
};

enum class ProgressState : std::uint8_t { kProbe, kReplicate, kSnapshot };
const char* ProgressStateName(ProgressState s);

struct Progress {
  Progress(Index next_index, std::size_t max_inflight, std::uint64_t max_inflight_bytes)
      : next(next_index), inflights(max_inflight, max_inflight_bytes) {}

  // Invariant: match < next. `match` only rises within a term (it reflects durable acks).
  Index match = 0;  // highest index known to be in the follower's (durable) log
  Index next = 1;   // next index to send
  ProgressState state = ProgressState::kProbe;
  Index pending_snapshot = 0;  // in kSnapshot: index of the snapshot sent
  int snapshot_ticks = 0;      // in kSnapshot: ticks since it was sent (retry on silence)
  // Heard from since the last check-quorum round (reset every election timeout by the leader).
  bool recent_active = false;
  // Leader ticks since this follower last answered (or since this Progress was created: at
  // election, or when it joined), for operators ("last contact"); time stays outside the core.
  std::uint64_t ticks_since_contact = 0;
  // In kProbe: an AppendEntries is outstanding; wait for its answer or a heartbeat response.
  bool probe_sent = false;
  bool is_learner = false;
  Inflights inflights;

  void become_probe();
  void become_replicate();
  void become_snapshot(Index snapshot_index);

  // An accepted append up to n: raise match/next. False if it told us nothing new.
  bool maybe_update(Index n);
  // A rejected append of `rejected` with the follower's hint. False if the rejection is stale.
  bool maybe_decr_to(Index rejected, Index match_hint);
  // Book-keeping after sending `entries` (with `bytes` payload) ending at `last`.
  void sent_entries(std::size_t entries, Index last, std::uint64_t bytes);
  // Whether sending more AppendEntries to this follower must wait.
  bool is_paused() const;

  std::string to_string() const;
};

using ProgressMap = std::map<NodeId, Progress>;  // ordered: iteration is deterministic

}  // namespace raft
