// RawNode: the driver API of the Raft core, and the Ready batch that carries its output.
//
// The caller owns the loop (etcd-io/raft's RawNode model):
//
//   node->Tick();  node->Step(msg);  node->Propose(data);  ...      // any number of inputs
//   if (node->HasReady()) {
//     Ready rd = node->GetReady();
//     1. persist: rd.snapshot (install), rd.entries (append, overwriting any suffix from
//        rd.entries[0].index), rd.hard_state — and sync if rd.must_sync;
//     2. send rd.messages;                       <-- PERSIST BEFORE SEND
//     3. apply rd.committed_entries in order (and restore the state machine from rd.snapshot);
//        serve reads in rd.read_states once applied >= their index;
//     4. node->Advance();
//   }
//
// Why step 1 must finish before step 2: the messages include acknowledgements that *promise*
// durability — a vote granted (HardState.vote), an AppendEntries accepted up to an index (the
// entries). If they left first and the node crashed, a leader could count a replica that no longer
// exists and lose an acknowledged write, or a node could vote twice in one term. The core's side
// of the rule: a message is only ever placed in the Ready that also carries (or follows) the state
// it depends on, and the leader counts its own log towards a majority only when Advance reports it
// durable. (A leader may in principle send AppendEntries before its own write completes, §10.2.1;
// we keep the single, simpler rule.)
//
// Between GetReady and Advance the caller may keep calling Tick/Step/Propose (e.g. while a sync is
// in flight); their effects go into the next Ready. HasReady is false until Advance.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "worker/raft/config.h"
#include "worker/raft/message.h"
#include "worker/raft/progress.h"
#include "worker/raft/raft.h"
#include "worker/raft/storage.h"
#include "worker/raft/types.h"

namespace raft {

// Volatile state worth reporting when it changes: who leads (the leader hint for redirecting
// clients) and what this node is.
struct SoftState {
  NodeId leader = kNone;
  Role role = Role::kFollower;
  bool operator==(const SoftState&) const = default;
};

struct Ready {
  std::optional<SoftState> soft_state;    // set when changed; not persisted
  std::optional<HardState> hard_state;    // set when changed; persist
  std::optional<Snapshot> snapshot;       // install before the entries; persist
  std::vector<Entry> entries;             // append to the durable log; persist
  std::vector<Entry> committed_entries;   // apply, in order, after persisting
  std::vector<Message> messages;          // send only after persisting (see above)
  std::vector<ReadState> read_states;     // linearizable reads that may now be served
  // Whether the persisted state must be synced (fsync) before sending: new entries, a snapshot,
  // or a new term/vote. A commit-index-only change may be written lazily.
  bool must_sync = false;

  bool empty() const;
};

struct Status {
  NodeId id = kNone;
  HardState hard_state;
  SoftState soft_state;
  Index applied = 0;
  Index last_index = 0;
  ConfState conf;
  ProgressMap progress;  // filled on the leader only
  NodeId lead_transferee = kNone;
};

class RawNode {
 public:
  static Result<std::unique_ptr<RawNode>> Create(const Config& cfg, const Storage* storage);

  void Tick() { raft_->tick(); }
  void Campaign() { raft_->campaign(); }
  Result<void> Step(const Message& m) { return raft_->step(m); }
  // Appends `data` as a new entry (on the leader) or forwards it to the leader. Success means
  // "accepted for replication", not "committed": commitment shows up in committed_entries.
  Result<void> Propose(std::string data) { return raft_->propose(std::move(data)); }
  // Leader only. One change at a time; see confchange.h.
  Result<void> ProposeConfChange(const ConfChange& cc) { return raft_->propose_conf_change(cc); }
  // Leader only: hand leadership to voter `to` (§3.10). Proposals are refused until it completes
  // or an election timeout passes.
  Result<void> TransferLeadership(NodeId to) { return raft_->transfer_leadership(to); }
  // Linearizable read (§6.4): a ReadState with `context` appears in a later Ready.
  Result<void> ReadIndex(std::string context) { return raft_->read_index(std::move(context)); }
  void ReportUnreachable(NodeId id) { raft_->report_unreachable(id); }
  void ReportSnapshot(NodeId id, bool ok) { raft_->report_snapshot(id, ok); }

  bool HasReady() const;
  Ready GetReady();
  void Advance();

  Status GetStatus() const;
  NodeId leader() const { return raft_->leader(); }
  const Raft& raft() const { return *raft_; }
  Raft& mutable_raft() { return *raft_; }  // tests only

 private:
  explicit RawNode(std::unique_ptr<Raft> r);

  std::unique_ptr<Raft> raft_;
  SoftState prev_soft_;
  HardState prev_hard_;
  // The Ready handed out and not yet Advanced: what it made durable and applied.
  bool outstanding_ = false;
  Index ready_last_index_ = 0;
  Term ready_last_term_ = 0;
  Index ready_snapshot_index_ = 0;
  Index ready_applied_ = 0;
};

// What a brand-new cluster's initial members persist before their first start: the same first
// log entry (the configuration `initial`) and HardState{term 1, commit 1}. A server joining an
// existing cluster starts from empty storage instead and is added by the leader as a learner.
struct BootstrapState {
  HardState hard_state;
  std::vector<Entry> entries;
};
BootstrapState Bootstrap(const ConfState& initial, std::string context = {});

}  // namespace raft
