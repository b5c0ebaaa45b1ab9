// The tail of the log the caller has not persisted yet (and possibly a snapshot to install).
//
// Entries land here when the leader appends or a follower accepts an AppendEntries; they leave
// (stable_to) once the caller reports, via Advance, that they are durable. Until then they are
// handed out in Ready::entries and must not be acknowledged to anyone.
#pragma once

#include <optional>
#include <vector>

#include "worker/raft/types.h"

namespace raft {

class Unstable {
 public:
  explicit Unstable(Index offset) : offset_(offset) {}

  // Index right after the snapshot, if one is pending.
  std::optional<Index> maybe_first_index() const;
  // Index of the last entry held here (or the pending snapshot's), if any.
  std::optional<Index> maybe_last_index() const;
  // Term of entry i if this tail (or the pending snapshot's last entry) knows it.
  std::optional<Term> maybe_term(Index i) const;

  // Entries up to (i, t) are durable. Ignored if entry i is no longer (i, t): it was overwritten
  // by a newer leader's entry after the Ready that carried it was taken.
  void stable_to(Index i, Term t);
  // The pending snapshot at index i is durable.
  void stable_snap_to(Index i);

  void restore(const Snapshot& s);
  // Appends `ents` (contiguous, non-empty), dropping any held entries at or after ents[0].index.
  void truncate_and_append(const std::vector<Entry>& ents, std::size_t from = 0);
  // Entries [lo, hi); requires offset() <= lo <= hi <= last + 1.
  void slice(Index lo, Index hi, std::vector<Entry>& out) const;

  const std::vector<Entry>& entries() const { return entries_; }
  const std::optional<Snapshot>& snapshot() const { return snapshot_; }
  Index offset() const { return offset_; }

 private:
  // Invariants: entries_[k].index == offset_ + k; if snapshot_ is set, offset_ == its index + 1.
  std::optional<Snapshot> snapshot_;
  std::vector<Entry> entries_;
  Index offset_;
};

}  // namespace raft
