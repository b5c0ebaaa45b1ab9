// A node's disk in the simulator: what has been written, and what of it has been synced.
//
// Writes (from persisting a Ready, or the application's snapshots and compactions) go to `live`
// at once — that is what the node reads back, as a real process reads its page cache — and are
// journaled. sync() makes the journal durable. crash() throws the journal away and rewinds `live`
// to the durable state: exactly the loss of writes that were not yet synced.
#pragma once

#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "worker/raft/storage.h"

namespace raft::sim {

class SimStorage {
 public:
  SimStorage() : live_(std::make_unique<MemoryStorage>()) {}

  // What the Raft core reads. The address is stable across crash() (contents are replaced).
  MemoryStorage* live() { return live_.get(); }
  const MemoryStorage* live() const { return live_.get(); }
  const MemoryStorage& durable() const { return durable_; }

  Result<void> apply_snapshot(const Snapshot& s) { return write(OpSnapshot{s}); }
  Result<void> append(const std::vector<Entry>& ents) { return write(OpAppend{ents}); }
  Result<void> set_hard_state(const HardState& hs) { return write(OpHardState{hs}); }
  Result<void> create_snapshot(Index i, const ConfState& cs, std::string data) {
    return write(OpCreateSnapshot{i, cs, std::move(data)});
  }
  Result<void> compact(Index i) { return write(OpCompact{i}); }

  bool has_unsynced() const { return !journal_.empty(); }
  // Make every write so far durable. Fails only if the journal does not replay (a sim bug).
  Result<void> sync();
  // Lose everything not synced.
  void crash();

 private:
  struct OpSnapshot { Snapshot s; };
  struct OpAppend { std::vector<Entry> ents; };
  struct OpHardState { HardState hs; };
  struct OpCreateSnapshot { Index i; ConfState cs; std::string data; };
  struct OpCompact { Index i; };
  using Op = std::variant<OpSnapshot, OpAppend, OpHardState, OpCreateSnapshot, OpCompact>;

  static Result<void> apply(MemoryStorage& to, const Op& op);
  Result<void> write(Op op);

  std::unique_ptr<MemoryStorage> live_;
  MemoryStorage durable_;
  std::vector<Op> journal_;  // applied to live_, not yet to durable_
};

}  // namespace raft::sim
