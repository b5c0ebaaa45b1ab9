#include "worker/raft/log_unstable.h"

#include <string>

#include "worker/raft/logger.h"

namespace raft {

std::optional<Index> Unstable::maybe_first_index() const {
  if (snapshot_) return snapshot_->meta.index + 1;
  return std::nullopt;
}

std::optional<Index> Unstable::maybe_last_index() const {
  if (!entries_.empty()) return offset_ + entries_.size() - 1;
  if (snapshot_) return snapshot_->meta.index;
  return std::nullopt;
}

std::optional<Term> Unstable::maybe_term(Index i) const {
  if (i < offset_) {
    if (snapshot_ && snapshot_->meta.index == i) return snapshot_->meta.term;
    return std::nullopt;
  }
  auto last = maybe_last_index();
  if (!last || i > *last) return std::nullopt;
  return entries_[i - offset_].term;
}

void Unstable::stable_to(Index i, Term t) {
  auto gt = maybe_term(i);
  if (!gt || *gt != t || i < offset_) return;  // unknown here, overwritten, or the snapshot
  entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(i + 1 - offset_));
  offset_ = i + 1;
}

void Unstable::stable_snap_to(Index i) {
  if (snapshot_ && snapshot_->meta.index == i) snapshot_.reset();
}

void Unstable::restore(const Snapshot& s) {
  offset_ = s.meta.index + 1;
  entries_.clear();
  snapshot_ = s;
}

void Unstable::truncate_and_append(const std::vector<Entry>& ents, std::size_t from) {
  if (from >= ents.size()) return;
  const Index first = ents[from].index;
  if (first == offset_ + entries_.size()) {
    // Plain append.
  } else if (first <= offset_) {
    // Replaces everything held here; the caller's storage will be overwritten from `first` on
    // when this Ready is persisted.
    offset_ = first;
    entries_.clear();
  } else {
    entries_.resize(first - offset_);
  }
  entries_.insert(entries_.end(), ents.begin() + static_cast<std::ptrdiff_t>(from), ents.end());
}

void Unstable::slice(Index lo, Index hi, std::vector<Entry>& out) const {
  if (lo > hi || lo < offset_ || hi > offset_ + entries_.size()) {
    Fatal("unstable.slice[" + std::to_string(lo) + "," + std::to_string(hi) + ") out of bounds [" +
          std::to_string(offset_) + "," + std::to_string(offset_ + entries_.size()) + ")");
  }
  out.insert(out.end(), entries_.begin() + static_cast<std::ptrdiff_t>(lo - offset_),
             entries_.begin() + static_cast<std::ptrdiff_t>(hi - offset_));
}

}  // namespace raft
