// RaftLog: the node's view of the replicated log = what Storage holds durably + the Unstable tail.
//
// It also owns the two cursors over that log:
//   applied <= committed <= last_index()
// `committed` only moves forward (Figure 2: commitIndex is monotonic); a truncation below it is a
// safety violation and stops the node (Fatal).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "worker/raft/log_unstable.h"
#include "worker/raft/storage.h"
#include "worker/raft/types.h"

namespace raft {

class RaftLog {
 public:
  // Starts from what `storage` holds durably; committed and applied start at the snapshot index
  // (the caller then raises committed from the hard state and applied from its own record).
  RaftLog(const Storage* storage, std::uint64_t max_applying_bytes);

  Index first_index() const;
  Index last_index() const;
  Term last_term() const;
  // Term of entry i; valid for first_index()-1 <= i <= last_index().
  Result<Term> term(Index i) const;
  Term term_or_zero(Index i) const;  // 0 where term() fails (never a real term for i >= 1)
  bool match_term(Index i, Term t) const;

  // §5.4.1 election restriction: a log with last entry (index, term) is at least as up-to-date as
  // ours iff its last term is higher, or equal with an index at least ours.
  bool is_up_to_date(Index last_index, Term last_term) const;

  struct AppendResult {
    Index last_new = 0;   // index of the last entry the leader's message covered
    Index first_written = 0;  // first index actually (re)written, 0 if everything already matched
  };
  // Follower side of AppendEntries (Figure 2, receiver rules 2-5). If our log has (prev_index,
  // prev_term), appends `ents` after it — skipping entries we already have, truncating from the
  // first conflicting one — and advances committed to min(leader_commit, last new index).
  std::optional<AppendResult> maybe_append(Index prev_index, Term prev_term, Index leader_commit,
                                           const std::vector<Entry>& ents);

  // Leader side: appends entries (already stamped with term and index); returns the new last index.
  Index append(const std::vector<Entry>& ents);

  // The first entry in `ents` whose term disagrees with ours (or is beyond our log); 0 if none.
  Index find_conflict(const std::vector<Entry>& ents) const;

  // Largest index <= `index` whose term is <= `term`, with that term (fast backtracking: every
  // entry above it has a higher term than `term`, so it cannot match an entry of term <= `term`).
  std::pair<Index, Term> find_conflict_by_term(Index index, Term term) const;

  void commit_to(Index to);
  // Advance committed to `max_index` if that entry has term `term`. The leader calls this with its
  // current term: §5.4.2, only entries of the current term are committed by counting replicas.
  bool maybe_commit(Index max_index, Term term);
  void applied_to(Index i);

  void stable_to(Index i, Term t) { unstable_.stable_to(i, t); }
  void stable_snap_to(Index i) { unstable_.stable_snap_to(i); }

  // Entries [lo, hi) with at most max_bytes (but at least one entry).
  Result<std::vector<Entry>> slice(Index lo, Index hi, std::uint64_t max_bytes) const;
  Result<std::vector<Entry>> entries_from(Index i, std::uint64_t max_bytes) const;
  std::vector<Entry> all_entries() const;  // tests only

  // Not yet durable: the caller must persist these (and the pending snapshot) before any message
  // that depends on them leaves the node.
  const std::vector<Entry>& unstable_entries() const { return unstable_.entries(); }
  const std::optional<Snapshot>& unstable_snapshot() const { return unstable_.snapshot(); }
  // Last index of the durable prefix of the log as the core sees it.
  Index stable_last_index() const;

  bool has_next_committed_entries() const;
  std::vector<Entry> next_committed_entries() const;

  // The latest snapshot: the pending one if any, else the storage's.
  Result<Snapshot> snapshot() const;
  // Replace the log with a snapshot (follower catching up through InstallSnapshot).
  void restore(const Snapshot& s);

  Index committed() const { return committed_; }
  Index applied() const { return applied_; }
  void set_committed_for_restart(Index c) { committed_ = c; }
  void set_applied_for_restart(Index a) { applied_ = a; }

 private:
  Result<void> check_bounds(Index lo, Index hi) const;

  const Storage* storage_;  // not owned; outlives the log
  Unstable unstable_;
  Index committed_ = 0;
  Index applied_ = 0;
  std::uint64_t max_applying_bytes_;  // cap on one batch of committed entries handed out
};

}  // namespace raft
