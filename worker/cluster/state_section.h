// StateSection: one part of the replicated state (configuration, cover library, API keys, job
// ledger). ClusterState routes each committed command to the section that owns its "op", and
// gives each section its own part of every snapshot.
//
// Apply must be deterministic — a function of the section's state, the command and its index
// only — because every member applies the same commands in the same order and must end in the
// same state. A command that is no longer valid when applied (a key already removed, a library
// already full) is skipped alike everywhere; its proposer learns why from the Outcome, which the
// Raft node hands back with the proposal's result, not from an exception.
//
// Thread safety: the Raft node's thread calls Apply/Snapshot/Restore; HTTP threads read through
// each section's own accessors, so every section guards its state with its own mutex.
#pragma once

#include <string>
#include <string_view>

#include "worker/cluster/command.h"
#include "worker/cluster/error.h"
#include "worker/raft/types.h"

namespace cluster {

class StateSection {
 public:
  virtual ~StateSection() = default;

  // Its key in snapshots; stable across versions.
  virtual std::string_view name() const = 0;
  virtual bool Owns(std::string_view op) const = 0;
  // What the proposer should hear: nothing when applied, else why the command was skipped
  // (kRefused: a client error, such as "no such key").
  virtual Outcome Apply(raft::Index index, const Command& command) = 0;
  virtual std::string Snapshot() const = 0;
  // `data` is what Snapshot() returned; empty when the snapshot predates this section (reset).
  // Data it cannot read may throw nlohmann::json's exceptions: ClusterState::Restore turns them
  // into its error.
  virtual void Restore(std::string_view data) = 0;
};

}  // namespace cluster
