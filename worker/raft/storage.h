// Storage: the durable part of a Raft node, implemented by the caller.
//
// The core only ever *reads* through this interface. Writes happen outside the core, when the
// caller persists a Ready (snapshot, then entries, then hard state, then sync) — see rawnode.h.
// The log the core sees is: snapshot (covering 1..first_index()-1) + entries first..last, plus
// whatever the core holds in memory that the caller has not persisted yet (log_unstable.h).
//
// MemoryStorage is the implementation for tests and the simulator; the RocksDB one lives beside it.
#pragma once

#include <cstdint>
#include <vector>

#include "worker/raft/types.h"

namespace raft {

class Storage {
 public:
  virtual ~Storage() = default;

  // Durable hard state (term, vote, commit) as last persisted.
  virtual HardState hard_state() const = 0;

  // Entries [lo, hi), at least one if lo < hi, and no more than max_bytes in total after the
  // first. kCompacted if lo < first_index(), kUnavailable if hi > last_index() + 1.
  virtual Result<std::vector<Entry>> entries(Index lo, Index hi, std::uint64_t max_bytes) const = 0;

  // Term of entry i, for first_index()-1 <= i <= last_index() (first_index()-1 is the snapshot's
  // last entry). kCompacted below that range, kUnavailable above.
  virtual Result<Term> term(Index i) const = 0;

  // Index of the first entry still in the log (snapshot index + 1).
  virtual Index first_index() const = 0;
  // Index of the last entry (snapshot index if the log is empty).
  virtual Index last_index() const = 0;

  // The latest snapshot, with its configuration. kSnapshotTemporarilyUnavailable lets a storage
  // that produces snapshots asynchronously say "not yet"; the leader retries later.
  virtual Result<Snapshot> snapshot() const = 0;
};

// A Storage held in memory. Not thread-safe (the caller serialises, as with the core itself).
//
// Invariant: ents_[0] is a dummy entry carrying (snapshot index, snapshot term); ents_[k] has
// index ents_[0].index + k. So first_index() = ents_[0].index + 1, last_index() = back().index.
class MemoryStorage final : public Storage {
 public:
  MemoryStorage();

  HardState hard_state() const override { return hard_state_; }
  Result<std::vector<Entry>> entries(Index lo, Index hi, std::uint64_t max_bytes) const override;
  Result<Term> term(Index i) const override;
  Index first_index() const override { return ents_.front().index + 1; }
  Index last_index() const override { return ents_.back().index; }
  Result<Snapshot> snapshot() const override { return snapshot_; }

  // --- Writes, as the caller performs them when persisting a Ready. ---

  void set_hard_state(const HardState& hs) { hard_state_ = hs; }

  // Replaces everything with `snap` (the log restarts after snap.meta.index).
  // kSnapshotTemporarilyUnavailable is never returned; an older snapshot is refused (kCompacted).
  Result<void> apply_snapshot(Snapshot snap);

  // Appends `ents` (contiguous), first truncating any existing entries at or after ents[0].index.
  // Entries already compacted are skipped. A gap after last_index() is refused (kUnavailable).
  Result<void> append(const std::vector<Entry>& ents);

  // --- Log compaction, driven by the application. ---

  // Records a snapshot at index i (<= last_index()) with the application's state `data` and the
  // configuration in effect at i. Does not discard entries; see compact().
  Result<void> create_snapshot(Index i, const ConfState& conf, std::string data);

  // Discards entries up to and including `compact_index`, which must not exceed the snapshot's
  // index (so everything discarded stays covered by a snapshot). first_index() becomes
  // compact_index + 1; term(compact_index) stays answerable.
  Result<void> compact(Index compact_index);

 private:
  HardState hard_state_;
  Snapshot snapshot_;
  std::vector<Entry> ents_;
};

}  // namespace raft
