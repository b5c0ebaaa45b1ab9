#include "worker/raft/storage.h"

#include <algorithm>
#include <string>
#include <utility>

#include "worker/raft/message.h"

namespace raft {

MemoryStorage::MemoryStorage() { ents_.push_back(Entry{}); }

Result<std::vector<Entry>> MemoryStorage::entries(Index lo, Index hi,
                                                  std::uint64_t max_bytes) const {
  const Index offset = ents_.front().index;
  if (lo <= offset) {
    return Fail(ErrorCode::kCompacted, "entries(" + std::to_string(lo) + "): compacted up to " +
                                           std::to_string(offset));
  }
  if (hi > last_index() + 1) {
    return Fail(ErrorCode::kUnavailable, "entries(" + std::to_string(lo) + ", " +
                                             std::to_string(hi) + "): last index is " +
                                             std::to_string(last_index()));
  }
  std::vector<Entry> out;
  std::uint64_t size = 0;
  for (Index i = lo; i < hi; ++i) {
    const Entry& e = ents_[i - offset];
    size += EntrySize(e);
    // Always return at least one entry, so that one oversized entry still makes progress.
    if (!out.empty() && size > max_bytes) break;
    out.push_back(e);
  }
  return out;
}

Result<Term> MemoryStorage::term(Index i) const {
  const Index offset = ents_.front().index;
  if (i < offset) {
    return Fail(ErrorCode::kCompacted,
                "term(" + std::to_string(i) + "): compacted up to " + std::to_string(offset));
  }
  if (i - offset >= ents_.size()) {
    return Fail(ErrorCode::kUnavailable, "term(" + std::to_string(i) + "): last index is " +
                                             std::to_string(last_index()));
  }
  return ents_[i - offset].term;
}

Result<void> MemoryStorage::apply_snapshot(Snapshot snap) {
  if (snap.meta.index < snapshot_.meta.index) {
    return Fail(ErrorCode::kCompacted, "apply_snapshot(" + std::to_string(snap.meta.index) +
                                           "): older than the current snapshot at " +
                                           std::to_string(snapshot_.meta.index));
  }
  ents_.assign(1, Entry{snap.meta.term, snap.meta.index, EntryType::kNormal, {}});
  snapshot_ = std::move(snap);
  return {};
}

Result<void> MemoryStorage::append(const std::vector<Entry>& ents) {
  if (ents.empty()) return {};
  const Index first = first_index();
  const Index last_new = ents.back().index;
  if (last_new < first) return {};  // everything already compacted (and so committed and equal)
  if (ents.front().index > last_index() + 1) {
    return Fail(ErrorCode::kUnavailable, "append: gap, first new index " +
                                             std::to_string(ents.front().index) +
                                             " after last index " + std::to_string(last_index()));
  }
  // Skip the part that is already compacted.
  std::size_t skip = ents.front().index < first ? first - ents.front().index : 0;
  const Index start = ents[skip].index;
  ents_.resize(start - ents_.front().index);  // truncate the conflicting or overwritten suffix
  ents_.insert(ents_.end(), ents.begin() + static_cast<std::ptrdiff_t>(skip), ents.end());
  return {};
}

Result<void> MemoryStorage::create_snapshot(Index i, const ConfState& conf, std::string data) {
  if (i <= snapshot_.meta.index) {
    return Fail(ErrorCode::kCompacted, "create_snapshot(" + std::to_string(i) +
                                           "): not newer than snapshot at " +
                                           std::to_string(snapshot_.meta.index));
  }
  if (i > last_index()) {
    return Fail(ErrorCode::kUnavailable, "create_snapshot(" + std::to_string(i) +
                                             "): beyond last index " +
                                             std::to_string(last_index()));
  }
  const Index offset = ents_.front().index;
  if (i < offset) {
    return Fail(ErrorCode::kCompacted, "create_snapshot(" + std::to_string(i) +
                                           "): entry already compacted");
  }
  snapshot_.meta.index = i;
  snapshot_.meta.term = ents_[i - offset].term;
  snapshot_.meta.conf = conf;
  snapshot_.data = std::move(data);
  return {};
}

Result<void> MemoryStorage::compact(Index compact_index) {
  const Index offset = ents_.front().index;
  if (compact_index <= offset) return {};  // already compacted; idempotent
  if (compact_index > last_index()) {
    return Fail(ErrorCode::kUnavailable, "compact(" + std::to_string(compact_index) +
                                             "): beyond last index " +
                                             std::to_string(last_index()));
  }
  if (compact_index > snapshot_.meta.index) {
    // Discarding entries no snapshot covers would lose committed state for good.
    return Fail(ErrorCode::kUnavailable, "compact(" + std::to_string(compact_index) +
                                             "): beyond the snapshot at " +
                                             std::to_string(snapshot_.meta.index));
  }
  // Keep the entry at compact_index as the new dummy (its index/term anchor the log).
  const std::size_t k = compact_index - offset;
  ents_.erase(ents_.begin(), ents_.begin() + static_cast<std::ptrdiff_t>(k));
  ents_.front().data.clear();
  ents_.front().type = EntryType::kNormal;
  return {};
}

}  // namespace raft
