#include "worker/raft/rawnode.h"

#include "worker/raft/confchange.h"
#include "worker/raft/logger.h"

namespace raft {

bool Ready::empty() const {
  return !soft_state && !hard_state && !snapshot && entries.empty() && committed_entries.empty() &&
         messages.empty() && read_states.empty();
}

Result<std::unique_ptr<RawNode>> RawNode::Create(const Config& cfg, const Storage* storage) {
  auto r = Raft::Create(cfg, storage);
  if (!r) return common::Unexpected<Error>{r.error()};
  return std::unique_ptr<RawNode>(new RawNode(std::move(*r)));
}

RawNode::RawNode(std::unique_ptr<Raft> r) : raft_(std::move(r)) {
  prev_soft_ = SoftState{raft_->leader(), raft_->role()};
  prev_hard_ = raft_->hard_state();
}

bool RawNode::HasReady() const {
  if (outstanding_) return false;
  const Raft& r = *raft_;
  if (SoftState{r.leader(), r.role()} != prev_soft_) return true;
  if (r.hard_state() != prev_hard_) return true;
  if (r.log().unstable_snapshot() || !r.log().unstable_entries().empty()) return true;
  if (r.has_messages() || r.has_read_states()) return true;
  return r.log().has_next_committed_entries();
}

Ready RawNode::GetReady() {
  if (outstanding_) Fatal("GetReady called again before Advance");
  Raft& r = *raft_;
  Ready rd;
  const SoftState ss{r.leader(), r.role()};
  if (ss != prev_soft_) {
    rd.soft_state = ss;
    prev_soft_ = ss;
  }
  const HardState hs = r.hard_state();
  if (hs != prev_hard_) {
    rd.hard_state = hs;
    rd.must_sync = hs.term != prev_hard_.term || hs.vote != prev_hard_.vote;
    prev_hard_ = hs;
  }
  if (r.log().unstable_snapshot()) {
    rd.snapshot = *r.log().unstable_snapshot();
    rd.must_sync = true;
  }
  rd.entries = r.log().unstable_entries();
  if (!rd.entries.empty()) rd.must_sync = true;
  rd.committed_entries = r.log().next_committed_entries();
  rd.messages = r.take_messages();
  rd.read_states = r.take_read_states();

  outstanding_ = true;
  ready_last_index_ = rd.entries.empty() ? 0 : rd.entries.back().index;
  ready_last_term_ = rd.entries.empty() ? 0 : rd.entries.back().term;
  ready_snapshot_index_ = rd.snapshot ? rd.snapshot->meta.index : 0;
  ready_applied_ = rd.committed_entries.empty() ? 0 : rd.committed_entries.back().index;
  return rd;
}

void RawNode::Advance() {
  if (!outstanding_) Fatal("Advance without a Ready");
  outstanding_ = false;
  raft_->on_persisted(ready_last_index_, ready_last_term_, ready_snapshot_index_);
  if (ready_applied_ != 0) raft_->on_applied(ready_applied_);
}

Status RawNode::GetStatus() const {
  const Raft& r = *raft_;
  Status s;
  s.id = r.id();
  s.hard_state = r.hard_state();
  s.soft_state = SoftState{r.leader(), r.role()};
  s.applied = r.log().applied();
  s.last_index = r.log().last_index();
  s.conf = r.conf();
  if (r.role() == Role::kLeader) s.progress = r.progress();
  s.lead_transferee = r.lead_transferee();
  return s;
}

BootstrapState Bootstrap(const ConfState& initial, std::string context) {
  BootstrapState b;
  b.hard_state = HardState{1, kNone, 1};
  b.entries.push_back(BootstrapConfEntry(initial, std::move(context)));
  return b;
}

}  // namespace raft
