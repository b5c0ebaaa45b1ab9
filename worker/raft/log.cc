#include "worker/raft/log.h"

#include <algorithm>
#include <string>

#include "worker/raft/logger.h"
#include "worker/raft/message.h"

namespace raft {

RaftLog::RaftLog(const Storage* storage, std::uint64_t max_applying_bytes)
    : storage_(storage),
      unstable_(storage->last_index() + 1),
      max_applying_bytes_(max_applying_bytes) {
  committed_ = storage->first_index() - 1;
  applied_ = committed_;
}

Index RaftLog::first_index() const {
  if (auto i = unstable_.maybe_first_index()) return *i;
  return storage_->first_index();
}

Index RaftLog::last_index() const {
  if (auto i = unstable_.maybe_last_index()) return *i;
  return storage_->last_index();
}

Term RaftLog::last_term() const { return term_or_zero(last_index()); }

Result<Term> RaftLog::term(Index i) const {
  const Index dummy = first_index() - 1;  // the snapshot's last entry still has a known term
  if (i < dummy) {
    return Fail(ErrorCode::kCompacted, "term(" + std::to_string(i) + ") below first index " +
                                           std::to_string(dummy + 1));
  }
  if (i > last_index()) {
    return Fail(ErrorCode::kUnavailable, "term(" + std::to_string(i) + ") beyond last index " +
                                             std::to_string(last_index()));
  }
  if (auto t = unstable_.maybe_term(i)) return *t;
  return storage_->term(i);
}

Term RaftLog::term_or_zero(Index i) const {
  auto t = term(i);
  return t ? *t : 0;
}

bool RaftLog::match_term(Index i, Term t) const {
  auto got = term(i);
  return got && *got == t;
}

bool RaftLog::is_up_to_date(Index lasti, Term lastt) const {
  const Term our = last_term();
  return lastt > our || (lastt == our && lasti >= last_index());
}

std::optional<RaftLog::AppendResult> RaftLog::maybe_append(Index prev_index, Term prev_term,
                                                           Index leader_commit,
                                                           const std::vector<Entry>& ents) {
  if (!match_term(prev_index, prev_term)) return std::nullopt;
  AppendResult res;
  res.last_new = prev_index + ents.size();
  const Index ci = find_conflict(ents);
  if (ci != 0) {
    if (ci <= committed_) {
      Fatal("entry " + std::to_string(ci) + " conflicts with committed entry (committed " +
            std::to_string(committed_) + ")");
    }
    const Index offset = prev_index + 1;
    unstable_.truncate_and_append(ents, ci - offset);
    res.first_written = ci;
  }
  commit_to(std::min(leader_commit, res.last_new));
  return res;
}

Index RaftLog::append(const std::vector<Entry>& ents) {
  if (ents.empty()) return last_index();
  if (ents.front().index - 1 < committed_) {
    Fatal("append after " + std::to_string(ents.front().index - 1) + " is below committed " +
          std::to_string(committed_));
  }
  unstable_.truncate_and_append(ents);
  return last_index();
}

Index RaftLog::find_conflict(const std::vector<Entry>& ents) const {
  for (const Entry& e : ents) {
    if (!match_term(e.index, e.term)) return e.index;
  }
  return 0;
}

std::pair<Index, Term> RaftLog::find_conflict_by_term(Index index, Term t) const {
  for (; index > 0; --index) {
    auto our = term(index);
    if (!our) return {index, 0};  // compacted or unavailable: no better guess than `index`
    if (*our <= t) return {index, *our};
  }
  return {0, 0};
}

void RaftLog::commit_to(Index to) {
  if (to <= committed_) return;  // never decrease
  if (to > last_index()) {
    Fatal("commit_to(" + std::to_string(to) + ") beyond last index " +
          std::to_string(last_index()) + ": log lost or corrupted");
  }
  committed_ = to;
}

bool RaftLog::maybe_commit(Index max_index, Term t) {
  if (max_index > committed_ && term_or_zero(max_index) == t) {
    commit_to(max_index);
    return true;
  }
  return false;
}

void RaftLog::applied_to(Index i) {
  if (i == 0) return;
  if (i > committed_ || i < applied_) {
    Fatal("applied_to(" + std::to_string(i) + ") outside [applied " + std::to_string(applied_) +
          ", committed " + std::to_string(committed_) + "]");
  }
  applied_ = i;
}

Result<void> RaftLog::check_bounds(Index lo, Index hi) const {
  if (lo > hi) {
    return Fail(ErrorCode::kUnavailable,
                "invalid slice " + std::to_string(lo) + " > " + std::to_string(hi));
  }
  if (lo < first_index()) {
    return Fail(ErrorCode::kCompacted, "slice from " + std::to_string(lo) +
                                           " below first index " + std::to_string(first_index()));
  }
  if (hi > last_index() + 1) {
    return Fail(ErrorCode::kUnavailable, "slice to " + std::to_string(hi) +
                                             " beyond last index " + std::to_string(last_index()));
  }
  return {};
}

Result<std::vector<Entry>> RaftLog::slice(Index lo, Index hi, std::uint64_t max_bytes) const {
  if (auto ok = check_bounds(lo, hi); !ok) return common::Unexpected<Error>{ok.error()};
  std::vector<Entry> out;
  if (lo == hi) return out;
  const Index uoff = unstable_.offset();
  if (lo < uoff) {
    auto stored = storage_->entries(lo, std::min(hi, uoff), max_bytes);
    if (!stored) return stored;
    out = std::move(*stored);
    // Storage stopped early because of the size limit: do not add unstable entries after a gap.
    if (out.size() < std::min(hi, uoff) - lo) return out;
  }
  if (hi > uoff) {
    std::vector<Entry> tail;
    unstable_.slice(std::max(lo, uoff), hi, tail);
    std::uint64_t size = 0;
    for (const Entry& e : out) size += EntrySize(e);
    for (Entry& e : tail) {
      size += EntrySize(e);
      if (!out.empty() && size > max_bytes) break;
      out.push_back(std::move(e));
    }
  }
  return out;
}

Result<std::vector<Entry>> RaftLog::entries_from(Index i, std::uint64_t max_bytes) const {
  if (i > last_index()) return std::vector<Entry>{};
  return slice(i, last_index() + 1, max_bytes);
}

std::vector<Entry> RaftLog::all_entries() const {
  auto r = entries_from(first_index(), UINT64_MAX);
  return r ? *r : std::vector<Entry>{};
}

Index RaftLog::stable_last_index() const {
  if (unstable_.snapshot()) return 0;  // nothing below the pending snapshot is durable yet
  if (!unstable_.entries().empty()) return unstable_.offset() - 1;
  return storage_->last_index();
}

bool RaftLog::has_next_committed_entries() const {
  if (unstable_.snapshot()) return false;  // the snapshot must be installed first
  return committed_ > std::max(applied_, first_index() - 1);
}

std::vector<Entry> RaftLog::next_committed_entries() const {
  if (!has_next_committed_entries()) return {};
  const Index lo = std::max(applied_ + 1, first_index());
  auto r = slice(lo, committed_ + 1, max_applying_bytes_);
  if (!r) Fatal("committed entries [" + std::to_string(lo) + "," + std::to_string(committed_) +
                "] unreadable: " + r.error().message);
  return std::move(*r);
}

Result<Snapshot> RaftLog::snapshot() const {
  if (unstable_.snapshot()) return *unstable_.snapshot();
  return storage_->snapshot();
}

void RaftLog::restore(const Snapshot& s) {
  committed_ = s.meta.index;
  unstable_.restore(s);
}

}  // namespace raft
