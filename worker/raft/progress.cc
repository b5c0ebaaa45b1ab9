#include "worker/raft/progress.h"

#include <algorithm>

namespace raft {

void Inflights::add(Index last, std::uint64_t bytes) {
  buf_.push_back(Item{last, bytes});
  bytes_ += bytes;
}

void Inflights::free_le(Index to) {
  std::size_t k = 0;
  while (k < buf_.size() && buf_[k].last <= to) {
    bytes_ -= buf_[k].bytes;
    ++k;
  }
  buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(k));
}

void Inflights::free_first_one() {
  if (buf_.empty()) return;
  bytes_ -= buf_.front().bytes;
  buf_.erase(buf_.begin());
}

bool Inflights::full() const {
  return buf_.size() >= max_count_ || (max_bytes_ != 0 && bytes_ >= max_bytes_);
}

void Inflights::reset() {
  buf_.clear();
  bytes_ = 0;
}

const char* ProgressStateName(ProgressState s) {
  switch (s) {
    case ProgressState::kProbe: return "probe";
    case ProgressState::kReplicate: return "replicate";
    case ProgressState::kSnapshot: return "snapshot";
  }
  return "?";
}

void Progress::become_probe() {
  // After a snapshot we assume it was applied (the follower will correct us if not).
  if (state == ProgressState::kSnapshot) {
    next = std::max(match + 1, pending_snapshot + 1);
  } else {
    next = match + 1;
  }
  state = ProgressState::kProbe;
  pending_snapshot = 0;
  snapshot_ticks = 0;
  probe_sent = false;
  inflights.reset();
}

void Progress::become_replicate() {
  state = ProgressState::kReplicate;
  next = match + 1;
  pending_snapshot = 0;
  snapshot_ticks = 0;
  probe_sent = false;
  inflights.reset();
}

void Progress::become_snapshot(Index snapshot_index) {
  state = ProgressState::kSnapshot;
  pending_snapshot = snapshot_index;
  snapshot_ticks = 0;
  probe_sent = false;
  inflights.reset();
  next = snapshot_index + 1;
}

bool Progress::maybe_update(Index n) {
  bool updated = false;
  if (match < n) {
    match = n;
    updated = true;
    probe_sent = false;
  }
  next = std::max(next, n + 1);
  return updated;
}

bool Progress::maybe_decr_to(Index rejected, Index match_hint) {
  if (state == ProgressState::kReplicate) {
    // Rejections of indexes we already know match are stale (reordered or duplicated).
    if (rejected <= match) return false;
    next = match + 1;
    return true;
  }
  // In probe (or snapshot) state only the answer to the latest probe counts.
  if (next - 1 != rejected) return false;
  next = std::max(std::min(rejected, match_hint + 1), match + 1);
  probe_sent = false;
  return true;
}

void Progress::sent_entries(std::size_t entries, Index last, std::uint64_t bytes) {
  switch (state) {
    case ProgressState::kReplicate:
      if (entries > 0) {
        next = last + 1;
        inflights.add(last, bytes);
      }
      break;
    case ProgressState::kProbe:
      probe_sent = true;
      break;
    case ProgressState::kSnapshot:
      break;
  }
}

bool Progress::is_paused() const {
  switch (state) {
    case ProgressState::kProbe: return probe_sent;
    case ProgressState::kReplicate: return inflights.full();
    case ProgressState::kSnapshot: return true;
  }
  return true;
}

std::string Progress::to_string() const {
  std::string s = ProgressStateName(state);
  s += " match=" + std::to_string(match) + " next=" + std::to_string(next);
  if (is_learner) s += " learner";
  if (state == ProgressState::kSnapshot) s += " pending_snap=" + std::to_string(pending_snapshot);
  if (inflights.count()) s += " inflight=" + std::to_string(inflights.count());
  return s;
}

}  // namespace raft
