#include "worker/raft/raft.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>

#include "worker/raft/confchange.h"
#include "worker/raft/mutation.h"
#include "worker/raft/quorum.h"

namespace raft {

using mutation::Active;
using MK = mutation::Kind;

Result<void> Config::validate() const {
  if (id == kNone) return Fail(ErrorCode::kInvalidConfig, "id must be > 0");
  if (heartbeat_tick <= 0) return Fail(ErrorCode::kInvalidConfig, "heartbeat_tick must be > 0");
  if (election_tick <= heartbeat_tick) {
    return Fail(ErrorCode::kInvalidConfig, "election_tick must be greater than heartbeat_tick");
  }
  if (max_inflight_msgs == 0) return Fail(ErrorCode::kInvalidConfig, "max_inflight_msgs must be > 0");
  if (max_committed_size_per_ready == 0) {
    return Fail(ErrorCode::kInvalidConfig, "max_committed_size_per_ready must be > 0");
  }
  return {};
}

// ---------------------------------------------------------------------------------------------
// Construction and restart

Raft::Raft(const Config& cfg, const Storage* storage)
    : cfg_(cfg),
      id_(cfg.id),
      rng_(cfg.random_seed ^ (cfg.id * 0x9e3779b97f4a7c15ULL)),
      logger_(cfg.logger),
      log_(storage, cfg.max_committed_size_per_ready) {}

Result<std::unique_ptr<Raft>> Raft::Create(const Config& cfg, const Storage* storage) {
  if (auto ok = cfg.validate(); !ok) return common::Unexpected<Error>{ok.error()};
  auto snap = storage->snapshot();
  if (!snap) {
    return Fail(ErrorCode::kCorruptState, "cannot read the snapshot: " + snap.error().message);
  }
  std::unique_ptr<Raft> r(new Raft(cfg, storage));
  const HardState hs = storage->hard_state();
  const Index first = storage->first_index();
  const Index last = storage->last_index();
  // The snapshot must cover everything compacted away; entries below it may still be kept.
  if (snap->meta.index + 1 < first || snap->meta.index > last) {
    return Fail(ErrorCode::kCorruptState, "snapshot index " + std::to_string(snap->meta.index) +
                                              " leaves a gap before the log [" +
                                              std::to_string(first) + ", " +
                                              std::to_string(last) + "]");
  }
  if (hs.commit > last) {
    return Fail(ErrorCode::kCorruptState, "hard state commit " + std::to_string(hs.commit) +
                                              " beyond the last log index " + std::to_string(last) +
                                              " (acknowledged entries missing)");
  }
  if (!IsValidConfState(snap->meta.conf)) {
    return Fail(ErrorCode::kCorruptState, "snapshot holds an invalid configuration");
  }
  // A snapshot only ever holds committed state, so it raises the commit index too.
  r->log_.set_committed_for_restart(std::max({hs.commit, first - 1, snap->meta.index}));
  if (cfg.applied > r->log_.committed()) {
    return Fail(ErrorCode::kCorruptState, "applied " + std::to_string(cfg.applied) +
                                              " beyond commit " +
                                              std::to_string(r->log_.committed()));
  }
  // The application restored its state from the snapshot (which may sit above entries the
  // storage still keeps), so nothing at or below the snapshot is applied again.
  r->log_.set_applied_for_restart(std::max(cfg.applied, snap->meta.index));
  r->term_ = hs.term;
  r->vote_ = hs.vote;

  // Rebuild the configuration: the snapshot's, then every configuration entry in the log.
  r->base_conf_ = snap->meta.conf;
  r->base_conf_index_ = snap->meta.index;
  for (Index lo = first; lo <= last;) {
    auto batch = storage->entries(lo, last + 1, 16 << 20);
    if (!batch) {
      return Fail(ErrorCode::kCorruptState, "cannot read log entries from " + std::to_string(lo) +
                                                ": " + batch.error().message);
    }
    for (const Entry& e : *batch) {
      if (e.index != lo) {
        return Fail(ErrorCode::kCorruptState, "log entry " + std::to_string(lo) +
                                                  " stored with index " + std::to_string(e.index));
      }
      ++lo;
      if (e.type != EntryType::kConfChange) continue;
      auto ce = DecodeConfEntry(e.data);
      if (!ce) {
        return Fail(ErrorCode::kCorruptState,
                    "configuration entry " + std::to_string(e.index) + ": " + ce.error().message);
      }
      r->conf_history_.push_back(ConfAt{e.index, std::move(ce->next)});
    }
  }
  r->prune_conf_history();
  r->apply_conf(r->conf_history_.empty() ? r->base_conf_ : r->conf_history_.back().conf);
  r->become_follower(r->term_, kNone);
  r->logf(LogLevel::kInfo, "started: term %llu commit %llu applied %llu last %llu",
          (unsigned long long)r->term_, (unsigned long long)r->log_.committed(),
          (unsigned long long)r->log_.applied(), (unsigned long long)last);
  return r;
}

void Raft::logf(LogLevel level, const char* fmt, ...) const {
  if (!logger_) return;
  char buf[512];
  int n = std::snprintf(buf, sizeof buf, "%llu [t%llu %s] ", (unsigned long long)id_,
                        (unsigned long long)term_, RoleName(role_));
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf + n, sizeof buf - static_cast<std::size_t>(n), fmt, ap);
  va_end(ap);
  logger_->Log(level, buf);
}

// ---------------------------------------------------------------------------------------------
// Role transitions

void Raft::reset(Term term) {
  if (term_ != term) {
    term_ = term;
    vote_ = kNone;  // a new term: we have not voted in it yet
  }
  lead_ = kNone;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  reset_randomized_election_timeout();
  abort_leader_transfer();
  votes_.clear();
  for (auto& [id, pr] : progress_) {
    const bool learner = pr.is_learner;
    pr = new_progress(id);
    pr.is_learner = learner;
  }
  read_only_.reset();
  pending_reads_.clear();
  uncommitted_.clear();
  uncommitted_bytes_ = 0;
}

Progress Raft::new_progress(NodeId id) const {
  Progress pr(log_.last_index() + 1, cfg_.max_inflight_msgs, cfg_.max_inflight_bytes);
  // Our own copy counts only once durable (see on_persisted).
  if (id == id_) pr.match = log_.stable_last_index();
  return pr;
}

void Raft::reset_randomized_election_timeout() {
  randomized_election_timeout_ =
      cfg_.election_tick + static_cast<int>(rng_.uniform(static_cast<std::uint64_t>(cfg_.election_tick)));
}

void Raft::become_follower(Term term, NodeId lead) {
  reset(term);
  lead_ = lead;
  role_ = Role::kFollower;
  logf(LogLevel::kInfo, "became follower (leader %llu)", (unsigned long long)lead);
}

void Raft::become_pre_candidate() {
  // Pre-vote changes neither term nor vote: losing it leaves no trace on anyone.
  votes_.clear();
  lead_ = kNone;
  role_ = Role::kPreCandidate;
  logf(LogLevel::kInfo, "became pre-candidate");
}

void Raft::become_candidate() {
  reset(term_ + 1);
  vote_ = id_;  // Figure 2 (Candidates): increment currentTerm, vote for self
  role_ = Role::kCandidate;
  logf(LogLevel::kInfo, "became candidate");
}

void Raft::become_leader() {
  reset(term_);
  lead_ = id_;
  role_ = Role::kLeader;
  // Followers are not presumed active: check-quorum wants to hear from a majority within the
  // first election timeout of this term too (they answer the no-op append at once).
  if (auto it = progress_.find(id_); it != progress_.end()) {
    it->second.become_replicate();
    it->second.match = log_.stable_last_index();
    it->second.next = log_.last_index() + 1;
  }
  logf(LogLevel::kInfo, "became leader at last index %llu", (unsigned long long)log_.last_index());
  // §8 / §5.4.2: a no-op entry of the new term; once it commits, everything before it is known
  // committed too, and the leader knows its commit index is current (needed by read-index).
  std::vector<Entry> noop(1);
  if (auto ok = append_entries(std::move(noop), /*leader_noop=*/true); !ok) {
    Fatal("leader could not append its no-op entry: " + ok.error().message);
  }
}

bool Raft::promotable() const {
  // A node installing a snapshot waits until its log is real again.
  if (log_.unstable_snapshot()) return false;
  // Voters campaign; learners never do.
  if (conf_.is_voter(id_)) return true;
  // §4.2.2: a server removed by a configuration entry that is not committed yet may still be
  // needed to commit it (say the leader that proposed it crashed, and only this server holds the
  // entry: the others cannot out-vote its longer log). It campaigns, asking the voters of its
  // latest configuration and not counting its own vote. Once the removal commits it stops.
  return !conf_history_.empty() && base_conf_.is_voter(id_);
}

// ---------------------------------------------------------------------------------------------
// Time

void Raft::tick() {
  if (role_ == Role::kLeader) {
    tick_heartbeat();
  } else {
    tick_election();
  }
}

void Raft::tick_election() {
  // Saturate: a learner or removed server never campaigns, and would otherwise overflow after
  // ~250 days of 10 ms ticks (and read as "in lease" again).
  if (election_elapsed_ < (1 << 30)) ++election_elapsed_;
  // Figure 2 (Followers): if the election timeout elapses without hearing from a current leader
  // or granting a vote, convert to candidate. (Candidates: a new election on timeout.)
  if (promotable() && election_elapsed_ >= randomized_election_timeout_) {
    election_elapsed_ = 0;
    hup(cfg_.pre_vote ? CampaignKind::kPreElection : CampaignKind::kElection);
  }
}

void Raft::tick_heartbeat() {
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  for (auto& [id, pr] : progress_) {
    if (id != id_) ++pr.ticks_since_contact;
  }
  if (election_elapsed_ >= cfg_.election_tick) {
    election_elapsed_ = 0;
    if (cfg_.check_quorum) {
      if (!quorum_active()) {
        logf(LogLevel::kWarn, "stepping down: quorum not active");
        become_follower(term_, kNone);
        return;
      }
      for (auto& [id, pr] : progress_) {
        if (id != id_) pr.recent_active = false;
      }
    }
    // §3.10: a transfer that has not completed within an election timeout is abandoned and the
    // leader accepts proposals again.
    abort_leader_transfer();
  }
  // A snapshot that got no answer within an election timeout is presumed lost: probe again.
  for (auto& [id, pr] : progress_) {
    if (pr.state == ProgressState::kSnapshot && ++pr.snapshot_ticks >= cfg_.election_tick) {
      pr.pending_snapshot = 0;
      pr.become_probe();
    }
  }
  if (heartbeat_elapsed_ >= cfg_.heartbeat_tick) {
    heartbeat_elapsed_ = 0;
    bcast_heartbeat();
  }
}

bool Raft::quorum_active() const {
  return MajorityVote(conf_.voters, [&](NodeId id) {
           if (id == id_) return 1;
           auto it = progress_.find(id);
           return it != progress_.end() && it->second.recent_active ? 1 : -1;
         }) == VoteResult::kWon;
}

// ---------------------------------------------------------------------------------------------
// Elections

void Raft::campaign() { hup(cfg_.pre_vote ? CampaignKind::kPreElection : CampaignKind::kElection); }

void Raft::hup(CampaignKind kind) {
  if (role_ == Role::kLeader) return;
  if (!promotable()) {
    logf(LogLevel::kDebug, "not promotable; no campaign");
    return;
  }
  do_campaign(kind);
}

void Raft::do_campaign(CampaignKind kind) {
  Term vote_term;
  MessageType type;
  if (kind == CampaignKind::kPreElection) {
    become_pre_candidate();
    vote_term = term_ + 1;  // the term we would use; our own term is unchanged
    type = MessageType::kPreVote;
  } else {
    become_candidate();
    vote_term = term_;
    type = MessageType::kVote;
  }
  if (poll(id_, true) == VoteResult::kWon) {
    // A single-voter configuration wins at once.
    if (kind == CampaignKind::kPreElection) {
      do_campaign(CampaignKind::kElection);
    } else {
      become_leader();
    }
    return;
  }
  for (NodeId v : conf_.voters) {
    if (v == id_) continue;
    Message m;
    m.type = type;
    m.to = v;
    m.term = vote_term;
    m.index = log_.last_index();  // RequestVote: lastLogIndex, lastLogTerm (§5.4.1)
    m.log_term = log_.last_term();
    m.leader_transfer = kind == CampaignKind::kTransfer;
    send(std::move(m));
  }
}

VoteResult Raft::poll(NodeId from, bool granted) {
  votes_.emplace(from, granted);  // the first answer from each voter counts
  return MajorityVote(conf_.voters, [&](NodeId id) {
    auto it = votes_.find(id);
    if (it == votes_.end()) return 0;
    return it->second ? 1 : -1;
  });
}

// ---------------------------------------------------------------------------------------------
// Messages

Result<void> Raft::step(const Message& m) {
  if (m.to != id_ && m.to != kNone) {
    return Fail(ErrorCode::kInvalidMessage, "message for node " + std::to_string(m.to));
  }
  if (m.from == kNone || m.from == id_) {
    return Fail(ErrorCode::kInvalidMessage, "message without a valid sender");
  }
  if (m.type == MessageType::kSnapshot && !m.snapshot) {
    return Fail(ErrorCode::kInvalidMessage, "snapshot message without a snapshot");
  }
  const bool is_vote_req = m.type == MessageType::kVote || m.type == MessageType::kPreVote;

  // Figure 2 (All Servers): if RPC request or response contains term T > currentTerm: set
  // currentTerm = T, convert to follower. Term 0 marks forwarded client requests (no term).
  if (m.term == 0) {
    if (m.type != MessageType::kPropose && m.type != MessageType::kReadIndex) {
      return Fail(ErrorCode::kInvalidMessage,
                  std::string(MessageTypeName(m.type)) + " without a term");
    }
  } else if (m.term > term_) {
    if (is_vote_req) {
      const bool in_lease =
          cfg_.check_quorum && lead_ != kNone && election_elapsed_ < cfg_.election_tick;
      if (!m.leader_transfer && in_lease) {
        // §4.2.3: within the minimum election timeout of hearing from a leader, ignore vote
        // requests (neither update the term nor vote). Keeps removed or partitioned servers from
        // disrupting a healthy leader.
        logf(LogLevel::kDebug, "ignored %s from %llu: leader lease", MessageTypeName(m.type),
             (unsigned long long)m.from);
        return {};
      }
    }
    if (m.type == MessageType::kPreVote) {
      // Never change our term because of a pre-vote.
    } else if (m.type == MessageType::kPreVoteResp && !m.reject) {
      // Granted pre-votes carry the future term we asked about; the term changes only if we win.
    } else {
      const bool from_leader = m.type == MessageType::kAppend ||
                               m.type == MessageType::kHeartbeat ||
                               m.type == MessageType::kSnapshot;
      const int elapsed = election_elapsed_;
      become_follower(m.term, from_leader ? m.from : kNone);
      // Figure 2 (Followers): only hearing from the current leader or granting a vote resets the
      // election timer. A vote request we may yet reject must not: a candidate that cannot win
      // (stale log) but times out first would otherwise keep every electable node from ever
      // timing out.
      if (!from_leader) election_elapsed_ = elapsed;
    }
  } else if (m.term < term_) {
    if (Active(MK::kAcceptStaleTerm) && m.type == MessageType::kAppend && role_ == Role::kFollower) {
      handle_append(m);  // MUTATION: a deposed leader can still overwrite our log
      return {};
    }
    if (m.type == MessageType::kHeartbeat || m.type == MessageType::kAppend) {
      // Figure 2: reply false with our term, so a stale leader steps down. Always: a node whose
      // term rose while partitioned cannot count on its vote requests to spread the term — the
      // lease may make others ignore them, and its configuration may be stale (the simulator
      // found a node whose known voters had all been removed: without this answer it stayed
      // stuck forever, dropping the real leader's heartbeats).
      Message r;
      r.type = MessageType::kAppendResp;
      r.to = m.from;
      send(std::move(r));
    } else if (m.type == MessageType::kPreVote) {
      Message r;
      r.type = MessageType::kPreVoteResp;
      r.to = m.from;
      r.term = term_;
      r.reject = true;
      send(std::move(r));
    }
    // Figure 2: reply false if term < currentTerm (for everything else: drop).
    return {};
  }

  if (is_vote_req) {
    // Figure 2 (RequestVote receiver): grant if votedFor is null or candidateId, and the
    // candidate's log is at least as up-to-date as ours (§5.4.1).
    bool can_vote = vote_ == m.from || (vote_ == kNone && lead_ == kNone) ||
                    (m.type == MessageType::kPreVote && m.term > term_);
    if (Active(MK::kVoteTwice) && m.type == MessageType::kVote) can_vote = true;
    const bool up_to_date =
        Active(MK::kVoteWithoutLogCheck) || log_.is_up_to_date(m.index, m.log_term);
    Message r;
    r.type = m.type == MessageType::kVote ? MessageType::kVoteResp : MessageType::kPreVoteResp;
    r.to = m.from;
    // Learners vote too: a learner that was promoted without knowing it yet must be able to
    // help elect the leader that will tell it.
    if (can_vote && up_to_date) {
      // Answer in the request's term (for pre-votes ours may be lower, and the candidate would
      // ignore an answer from the past).
      r.term = m.term;
      if (m.type == MessageType::kVote) {
        election_elapsed_ = 0;
        vote_ = m.from;  // persisted (HardState) before this answer leaves: see rawnode.h
      }
      logf(LogLevel::kDebug, "granted %s to %llu", MessageTypeName(m.type),
           (unsigned long long)m.from);
    } else {
      r.term = term_;
      r.reject = true;
    }
    send(std::move(r));
    return {};
  }

  switch (role_) {
    case Role::kLeader:
      step_leader(m);
      return {};
    case Role::kCandidate:
    case Role::kPreCandidate:
      return step_candidate(m);
    case Role::kFollower:
      return step_follower(m);
  }
  return {};
}

void Raft::step_leader(const Message& m) {
  switch (m.type) {
    case MessageType::kPropose: {
      // Forwarded by a follower; its client learns the outcome from the log, not from us.
      // Configuration changes are never forwarded (they need the checks in propose_conf_change).
      std::vector<Entry> ents;
      for (const Entry& e : m.entries) {
        if (e.type != EntryType::kNormal) return;
        ents.push_back(Entry{0, 0, EntryType::kNormal, e.data});
      }
      if (!ents.empty()) (void)append_entries(std::move(ents));
      return;
    }
    case MessageType::kReadIndex:
      handle_read_index(m.from, m.context);
      return;
    default:
      break;
  }
  auto it = progress_.find(m.from);
  if (it == progress_.end()) return;  // not a member (any more)
  Progress& pr = it->second;
  switch (m.type) {
    case MessageType::kAppendResp:
      handle_append_resp(m, pr);
      break;
    case MessageType::kHeartbeatResp:
      handle_heartbeat_resp(m, pr);
      break;
    default:
      break;  // e.g. a TimeoutNow or ReadIndexResp in our own term: not for a leader
  }
}

void Raft::handle_append_resp(const Message& m, Progress& pr) {
  pr.recent_active = true;
  pr.ticks_since_contact = 0;
  const NodeId from = m.from;
  if (m.reject) {
    // Fast backtracking: the follower's hint is (index, term) of the last entry that might match.
    Index next_probe = m.reject_hint;
    if (m.log_term > 0) next_probe = log_.find_conflict_by_term(m.reject_hint, m.log_term).first;
    if (pr.maybe_decr_to(m.index, next_probe)) {
      logf(LogLevel::kDebug, "append rejected by %llu at %llu; now %s", (unsigned long long)from,
           (unsigned long long)m.index, pr.to_string().c_str());
      if (pr.state == ProgressState::kReplicate) pr.become_probe();
      send_append(from);
    }
    return;
  }
  if (!(pr.maybe_update(m.index) || (pr.match == m.index && pr.state == ProgressState::kProbe))) {
    return;  // stale or duplicate acknowledgement
  }
  switch (pr.state) {
    case ProgressState::kProbe:
      pr.become_replicate();
      break;
    case ProgressState::kSnapshot:
      if (pr.match + 1 >= log_.first_index()) {
        pr.become_probe();
        pr.become_replicate();
      }
      break;
    case ProgressState::kReplicate:
      pr.inflights.free_le(m.index);
      break;
  }
  if (maybe_commit()) {
    after_leader_commit();
    if (role_ != Role::kLeader) return;
    bcast_append();  // tell everyone the new commit index
  }
  auto it = progress_.find(from);  // after_leader_commit may have changed the membership
  if (it == progress_.end()) return;
  // The window may have opened: send as much as flow control allows.
  while (maybe_send_append(from, false)) {
  }
  if (from == lead_transferee_ && it->second.match == log_.last_index()) {
    send_timeout_now(from);  // §3.10: the target is caught up
  }
}

void Raft::handle_heartbeat_resp(const Message& m, Progress& pr) {
  pr.recent_active = true;
  pr.ticks_since_contact = 0;
  pr.probe_sent = false;
  // All the messages that filled the window may have been lost: free a slot so one probe goes.
  if (pr.state == ProgressState::kReplicate && pr.inflights.full()) pr.inflights.free_first_one();
  if (pr.match < log_.last_index() || pr.state == ProgressState::kProbe) send_append(m.from);

  // m.index echoes the read-index round of the heartbeat: a majority still following us as of a
  // round makes every read queued up to that round safe to serve.
  for (auto& req : read_only_.recv_ack(m.from, m.index, conf_.voters, id_)) {
    respond_read(req.from, req.index, req.context);
  }
}

Result<void> Raft::step_candidate(const Message& m) {
  const MessageType my_resp =
      role_ == Role::kPreCandidate ? MessageType::kPreVoteResp : MessageType::kVoteResp;
  switch (m.type) {
    case MessageType::kPropose:
      return Fail(ErrorCode::kNoLeader, "campaigning; no leader in term " + std::to_string(term_));
    case MessageType::kAppend:
      // Figure 2 (Candidates): if AppendEntries received from new leader: convert to follower.
      become_follower(m.term, m.from);
      handle_append(m);
      return {};
    case MessageType::kHeartbeat:
      become_follower(m.term, m.from);
      handle_heartbeat(m);
      return {};
    case MessageType::kSnapshot:
      become_follower(m.term, m.from);
      handle_snapshot(m);
      return {};
    default:
      break;
  }
  if (m.type != my_resp) return {};  // e.g. late pre-vote answers once a candidate
  const VoteResult res = poll(m.from, !m.reject);
  if (res == VoteResult::kWon) {
    if (role_ == Role::kPreCandidate) {
      do_campaign(CampaignKind::kElection);
    } else {
      become_leader();  // Figure 2: votes from a majority: become leader (sends its no-op)
    }
  } else if (res == VoteResult::kLost) {
    become_follower(term_, kNone);
  }
  return {};
}

Result<void> Raft::step_follower(const Message& m) {
  switch (m.type) {
    case MessageType::kPropose: {
      if (lead_ == kNone) return Fail(ErrorCode::kNoLeader, "no leader to forward the proposal to");
      if (cfg_.disable_proposal_forwarding) {
        return Fail(ErrorCode::kNotLeader, "not the leader; leader is " + std::to_string(lead_));
      }
      Message f = m;
      f.to = lead_;
      f.term = 0;
      send(std::move(f));
      return {};
    }
    case MessageType::kAppend:
      election_elapsed_ = 0;
      lead_ = m.from;
      handle_append(m);
      return {};
    case MessageType::kHeartbeat:
      election_elapsed_ = 0;
      lead_ = m.from;
      handle_heartbeat(m);
      return {};
    case MessageType::kSnapshot:
      election_elapsed_ = 0;
      lead_ = m.from;
      handle_snapshot(m);
      return {};
    case MessageType::kTimeoutNow:
      // §3.10: the leader asks us to start an election at once. No pre-vote (we know the leader
      // is alive and wants us), and our vote requests override the other servers' leases.
      logf(LogLevel::kInfo, "TimeoutNow from %llu", (unsigned long long)m.from);
      hup(CampaignKind::kTransfer);
      return {};
    case MessageType::kReadIndex: {
      if (lead_ == kNone) return Fail(ErrorCode::kNoLeader, "no leader to forward the read to");
      Message f = m;
      f.to = lead_;
      f.term = 0;
      send(std::move(f));
      return {};
    }
    case MessageType::kReadIndexResp:
      read_states_.push_back(ReadState{m.index, m.context});
      return {};
    default:
      return {};
  }
}

void Raft::handle_append(const Message& m) {
  Message r;
  r.type = MessageType::kAppendResp;
  r.to = m.from;
  if (m.index < log_.committed()) {
    // Everything up to our commit index is already settled; tell the leader where we are.
    r.index = log_.committed();
    send(std::move(r));
    return;
  }
  // Configuration entries must decode identically everywhere; refuse the message otherwise.
  for (const Entry& e : m.entries) {
    if (e.type == EntryType::kConfChange && !DecodeConfEntry(e.data)) {
      logf(LogLevel::kWarn, "dropped append from %llu: malformed configuration entry %llu",
           (unsigned long long)m.from, (unsigned long long)e.index);
      return;
    }
  }
  Term prev_term = m.log_term;
  if (Active(MK::kAppendWithoutPrevCheck) && m.index <= log_.last_index()) {
    prev_term = log_.term_or_zero(m.index);  // MUTATION: pretend the previous entry matched
  }
  // Figure 2 (AppendEntries receiver) rules 2-5.
  auto res = log_.maybe_append(m.index, prev_term, m.commit, m.entries);
  if (res) {
    if (res->first_written != 0) {
      drop_acks_from(res->first_written);
      on_log_written(m.entries, res->first_written);
    }
    prune_conf_history();
    r.index = res->last_new;
    send(std::move(r));  // sent only after these entries are durable (rawnode.h)
    return;
  }
  // Rule 2: reply false if the log does not contain an entry at prevLogIndex with prevLogTerm.
  // The hint lets the leader skip a whole term of entries per round trip (fast backtracking).
  const Index hint = std::min(m.index, log_.last_index());
  auto [hint_index, hint_term] = log_.find_conflict_by_term(hint, m.log_term);
  r.index = m.index;
  r.reject = true;
  r.reject_hint = hint_index;
  r.log_term = hint_term;
  send(std::move(r));
}

void Raft::handle_heartbeat(const Message& m) {
  // The leader sends min(its commit, our match), so we hold that entry and it matches.
  log_.commit_to(m.commit);
  prune_conf_history();
  Message r;
  r.type = MessageType::kHeartbeatResp;
  r.to = m.from;
  r.index = m.index;  // the read-index round we answer
  send(std::move(r));
}

void Raft::handle_snapshot(const Message& m) {
  Message r;
  r.type = MessageType::kAppendResp;
  r.to = m.from;
  if (restore(*m.snapshot)) {
    logf(LogLevel::kInfo, "restored snapshot at %llu", (unsigned long long)m.snapshot->meta.index);
    r.index = log_.last_index();
  } else {
    r.index = log_.committed();
  }
  send(std::move(r));
}

bool Raft::restore(const Snapshot& s) {
  if (s.meta.index <= log_.committed()) return false;  // nothing new
  if (!IsValidConfState(s.meta.conf)) {
    logf(LogLevel::kWarn, "ignored snapshot with an invalid configuration");
    return false;
  }
  if (role_ != Role::kFollower) {
    // Defence in depth: only followers install snapshots.
    become_follower(term_ + 1, kNone);
    return false;
  }
  if (log_.match_term(s.meta.index, s.meta.term)) {
    // We already have the snapshot's last entry, hence (log matching) everything before it:
    // just learn that it is committed, and keep our log.
    log_.commit_to(s.meta.index);
    prune_conf_history();
    return false;
  }
  log_.restore(s);
  base_conf_ = s.meta.conf;
  base_conf_index_ = s.meta.index;
  conf_history_.clear();
  refresh_conf();
  return true;
}

// ---------------------------------------------------------------------------------------------
// Client requests

Result<void> Raft::propose(std::string data) {
  Entry e;
  e.data = std::move(data);
  std::vector<Entry> ents;
  ents.push_back(std::move(e));
  if (role_ == Role::kLeader) return append_entries(std::move(ents));
  Message m;
  m.type = MessageType::kPropose;
  m.from = id_;
  m.entries = std::move(ents);
  if (role_ != Role::kFollower) {
    return Fail(ErrorCode::kNoLeader, "campaigning; no leader in term " + std::to_string(term_));
  }
  return step_follower(m);
}

Result<void> Raft::append_entries(std::vector<Entry> ents, bool leader_noop) {
  // A leader outside its latest configuration still appends its no-op (it must commit that
  // configuration) but takes no new client work.
  if (!conf_.contains(id_) && !leader_noop) {
    return Fail(ErrorCode::kProposalDropped, "leader is being removed from the configuration");
  }
  if (lead_transferee_ != kNone) {
    return Fail(ErrorCode::kProposalDropped,
                "leadership transfer to " + std::to_string(lead_transferee_) + " in progress");
  }
  std::uint64_t bytes = 0;
  for (const Entry& e : ents) bytes += PayloadSize(e);
  if (cfg_.max_uncommitted_entries_size != 0 && uncommitted_bytes_ > 0 &&
      uncommitted_bytes_ + bytes > cfg_.max_uncommitted_entries_size) {
    return Fail(ErrorCode::kProposalDropped, "too many uncommitted bytes (" +
                                                 std::to_string(uncommitted_bytes_) + ")");
  }
  Index li = log_.last_index();
  for (Entry& e : ents) {
    e.term = term_;
    e.index = ++li;
    if (e.type == EntryType::kConfChange && !DecodeConfEntry(e.data)) {
      return Fail(ErrorCode::kInvalidConfChange, "malformed configuration entry");
    }
  }
  for (const Entry& e : ents) {
    if (PayloadSize(e) > 0) {
      uncommitted_.emplace_back(e.index, PayloadSize(e));
      uncommitted_bytes_ += PayloadSize(e);
    }
  }
  log_.append(ents);
  on_log_written(ents, ents.front().index);
  // Our own entry counts towards a majority only after it is durable (on_persisted).
  bcast_append();
  return {};
}

Result<void> Raft::propose_conf_change(const ConfChange& cc) {
  if (role_ != Role::kLeader) {
    return Fail(ErrorCode::kNotLeader,
                "configuration changes go to the leader (" + std::to_string(lead_) + ")");
  }
  if (lead_transferee_ != kNone) {
    return Fail(ErrorCode::kProposalDropped, "leadership transfer in progress");
  }
  // §4.1 (and the 2015 correction to single-server changes): a leader must commit an entry of
  // its own term before changing the configuration, or a change made by an earlier leader that
  // never committed could combine with this one into two disjoint majorities.
  if (!committed_entry_in_current_term()) {
    return Fail(ErrorCode::kConfChangeTooEarly, "no entry of term " + std::to_string(term_) +
                                                    " committed yet");
  }
  // §4.1: at most one uncommitted configuration entry at a time.
  if (last_conf_index() > log_.committed() && !Active(MK::kConfChangeWithoutWait)) {
    return Fail(ErrorCode::kConfChangePending, "configuration entry " +
                                                   std::to_string(last_conf_index()) +
                                                   " not committed yet");
  }
  auto next = NextConfState(conf_, cc);
  if (!next) return common::Unexpected<Error>{next.error()};
  if (cc.type == ConfChange::Type::kBootstrap) {
    return Fail(ErrorCode::kInvalidConfChange, "bootstrap only in a new cluster's first entry");
  }
  if (cc.type == ConfChange::Type::kPromote) {
    // §4.2.1: a new voter that is far behind would stall commitment; promote only caught-up
    // learners.
    auto it = progress_.find(cc.node);
    if (it == progress_.end() || it->second.match < log_.committed()) {
      return Fail(ErrorCode::kLearnerNotCaughtUp,
                  "learner " + std::to_string(cc.node) + " at " +
                      std::to_string(it == progress_.end() ? 0 : it->second.match) +
                      ", commit is " + std::to_string(log_.committed()));
    }
  }
  Entry e;
  e.type = EntryType::kConfChange;
  e.data = EncodeConfEntry(ConfEntry{cc, std::move(*next)});
  std::vector<Entry> ents;
  ents.push_back(std::move(e));
  return append_entries(std::move(ents));
}

Result<void> Raft::transfer_leadership(NodeId to) {
  if (role_ != Role::kLeader) {
    return Fail(ErrorCode::kNotLeader, "transfer must be asked of the leader (" +
                                           std::to_string(lead_) + ")");
  }
  if (to == id_) return {};  // already the leader
  if (!conf_.is_voter(to)) {
    return Fail(ErrorCode::kTransferInvalid, "node " + std::to_string(to) + " is not a voter");
  }
  if (lead_transferee_ == to) return {};  // already in progress
  abort_leader_transfer();
  // The transfer must complete within one election timeout, counted from now.
  election_elapsed_ = 0;
  lead_transferee_ = to;
  auto& pr = progress_.at(to);
  if (pr.match == log_.last_index()) {
    send_timeout_now(to);
  } else {
    send_append(to);  // catch it up first (§3.10 step 1); TimeoutNow follows on its ack
  }
  return {};
}

Result<void> Raft::read_index(std::string context) {
  if (role_ == Role::kLeader) {
    handle_read_index(kNone, context);
    return {};
  }
  Message m;
  m.type = MessageType::kReadIndex;
  m.from = id_;
  m.context = std::move(context);
  if (role_ != Role::kFollower) {
    return Fail(ErrorCode::kNoLeader, "campaigning; no leader in term " + std::to_string(term_));
  }
  return step_follower(m);
}

void Raft::handle_read_index(NodeId from, const std::string& context) {
  if (Active(MK::kReadIndexWithoutQuorum)) {
    respond_read(from, log_.committed(), context);  // MUTATION: trust that we are still leader
    return;
  }
  // §6.4 step 1: our commit index is current only once an entry of our term is committed. This
  // holds for a single voter too: one that just became leader (e.g. after the configuration shrank
  // to it) may not yet know the latest commit index.
  if (!committed_entry_in_current_term()) {
    pending_reads_.push_back(PendingRead{from, context});
    return;
  }
  if (conf_.voters.size() == 1 && conf_.is_voter(id_)) {
    respond_read(from, log_.committed(), context);  // we are the whole quorum
    return;
  }
  // Steps 2-3: record the commit index, then confirm leadership with a new heartbeat round.
  read_only_.add(log_.committed(), from, context);
  bcast_heartbeat();
}

void Raft::respond_read(NodeId from, Index index, const std::string& context) {
  if (from == kNone || from == id_) {
    read_states_.push_back(ReadState{index, context});
    return;
  }
  Message r;
  r.type = MessageType::kReadIndexResp;
  r.to = from;
  r.index = index;
  r.context = context;
  send(std::move(r));
}

void Raft::report_unreachable(NodeId id) {
  if (role_ != Role::kLeader) return;
  auto it = progress_.find(id);
  if (it == progress_.end()) return;
  // A message was likely lost: stop streaming optimistically and probe.
  if (it->second.state == ProgressState::kReplicate) it->second.become_probe();
}

void Raft::report_snapshot(NodeId id, bool ok) {
  if (role_ != Role::kLeader) return;
  auto it = progress_.find(id);
  if (it == progress_.end() || it->second.state != ProgressState::kSnapshot) return;
  Progress& pr = it->second;
  if (!ok) pr.pending_snapshot = 0;  // probe from match, not from the snapshot
  pr.become_probe();
  // Wait for the follower's answer (or the next heartbeat) before sending again.
  pr.probe_sent = true;
}

// ---------------------------------------------------------------------------------------------
// Replication (leader)

void Raft::send(Message m) {
  m.from = id_;
  const bool vote_type = m.type == MessageType::kVote || m.type == MessageType::kPreVote ||
                         m.type == MessageType::kVoteResp || m.type == MessageType::kPreVoteResp;
  if (vote_type) {
    if (m.term == 0) Fatal(std::string("unset term on ") + MessageTypeName(m.type));
  } else if (m.type != MessageType::kPropose && m.type != MessageType::kReadIndex) {
    m.term = term_;
  }
  msgs_.push_back(std::move(m));
}

bool Raft::maybe_send_append(NodeId to, bool send_if_empty) {
  auto it = progress_.find(to);
  if (it == progress_.end() || to == id_) return false;
  Progress& pr = it->second;
  if (pr.is_paused()) return false;
  const Index prev_index = pr.next - 1;
  auto prev_term = log_.term(prev_index);
  auto ents = log_.entries_from(pr.next, cfg_.max_size_per_msg);
  if (!prev_term || !ents) {
    // The entries it needs are compacted: only a snapshot can catch it up.
    return send_snapshot(to, pr);
  }
  if (ents->empty() && !send_if_empty) return false;
  std::uint64_t bytes = 0;
  for (const Entry& e : *ents) bytes += PayloadSize(e);
  const Index last = ents->empty() ? prev_index : ents->back().index;
  pr.sent_entries(ents->size(), last, bytes);
  Message m;
  m.type = MessageType::kAppend;
  m.to = to;
  m.index = prev_index;
  m.log_term = *prev_term;
  m.entries = std::move(*ents);
  m.commit = log_.committed();
  send(std::move(m));
  return true;
}

bool Raft::send_snapshot(NodeId to, Progress& pr) {
  if (!pr.recent_active) return false;  // do not ship a snapshot to a node that may be down
  auto snap = log_.snapshot();
  if (!snap) {
    logf(LogLevel::kDebug, "snapshot for %llu unavailable: %s", (unsigned long long)to,
         snap.error().message.c_str());
    return false;
  }
  if (snap->empty()) Fatal("need a snapshot for node " + std::to_string(to) + " but none exists");
  pr.become_snapshot(snap->meta.index);
  logf(LogLevel::kInfo, "sending snapshot at %llu to %llu", (unsigned long long)snap->meta.index,
       (unsigned long long)to);
  Message m;
  m.type = MessageType::kSnapshot;
  m.to = to;
  m.snapshot = std::make_shared<const Snapshot>(std::move(*snap));
  send(std::move(m));
  return true;
}

void Raft::send_heartbeat(NodeId to) {
  // Never tell a follower to commit beyond what it is known to hold: it may not have it yet.
  const auto& pr = progress_.at(to);
  Message m;
  m.type = MessageType::kHeartbeat;
  m.to = to;
  m.commit = std::min(pr.match, log_.committed());
  m.index = read_only_.round();
  send(std::move(m));
}

void Raft::drop_acks_from(Index from) {
  // Acknowledgements still queued here have not been handed out in a Ready yet, so the entries
  // they vouch for were never persisted. If those entries were just overwritten, the ack would
  // promise something this node will never have on disk: drop it. (Acks already handed out go
  // with the Ready that persists their entries, so they are true when sent.)
  std::erase_if(msgs_, [from](const Message& m) {
    return m.type == MessageType::kAppendResp && !m.reject && m.index >= from;
  });
}

void Raft::send_timeout_now(NodeId to) {
  Message m;
  m.type = MessageType::kTimeoutNow;
  m.to = to;
  send(std::move(m));
}

void Raft::bcast_append() {
  for (const auto& [id, pr] : progress_) {
    if (id != id_) send_append(id);
  }
}

void Raft::bcast_heartbeat() {
  for (const auto& [id, pr] : progress_) {
    if (id != id_) send_heartbeat(id);
  }
}

bool Raft::maybe_commit() {
  const Index mci = MajorityCommitted(conf_.voters, [&](NodeId id) -> Index {
    auto it = progress_.find(id);
    return it == progress_.end() ? 0 : it->second.match;
  });
  if (Active(MK::kCommitEarlierTerm)) {
    // MUTATION: commit whatever a majority holds, whatever its term (Figure 8).
    if (mci > log_.committed()) {
      log_.commit_to(mci);
      return true;
    }
    return false;
  }
  // Figure 2 (Leaders): N > commitIndex, a majority of matchIndex[i] >= N, and log[N].term ==
  // currentTerm: set commitIndex = N. Earlier-term entries commit only indirectly (§5.4.2).
  return log_.maybe_commit(mci, term_);
}

void Raft::after_leader_commit() {
  prune_conf_history();
  while (!uncommitted_.empty() && uncommitted_.front().first <= log_.committed()) {
    uncommitted_bytes_ -= uncommitted_.front().second;
    uncommitted_.pop_front();
  }
  if (committed_entry_in_current_term() && !pending_reads_.empty()) {
    auto reads = std::move(pending_reads_);
    pending_reads_.clear();
    for (const auto& r : reads) handle_read_index(r.from, r.context);
  }
  // §4.2.2: a leader that is not part of the new configuration steps down once that
  // configuration is committed. Hand over to the most up-to-date voter to save an election
  // timeout.
  if (!conf_.is_voter(id_) && last_conf_index() <= log_.committed()) {
    NodeId best = kNone;
    for (NodeId v : conf_.voters) {
      auto it = progress_.find(v);
      if (it != progress_.end() && it->second.match == log_.last_index()) {
        best = v;
        break;
      }
    }
    logf(LogLevel::kInfo, "removed from the configuration; stepping down (successor %llu)",
         (unsigned long long)best);
    if (best != kNone) send_timeout_now(best);
    become_follower(term_, kNone);
  }
}

bool Raft::committed_entry_in_current_term() const {
  return log_.term_or_zero(log_.committed()) == term_;
}

void Raft::on_persisted(Index index, Term term, Index snapshot_index) {
  if (snapshot_index != 0) {
    log_.stable_snap_to(snapshot_index);
    if (snapshot_index > log_.applied() && snapshot_index <= log_.committed()) {
      log_.applied_to(snapshot_index);  // the application restored its state from it
    }
  }
  if (index != 0) log_.stable_to(index, term);
  if (role_ == Role::kLeader) {
    auto it = progress_.find(id_);
    if (it != progress_.end() && it->second.maybe_update(log_.stable_last_index())) {
      if (maybe_commit()) {
        after_leader_commit();
        if (role_ == Role::kLeader) bcast_append();
      }
    }
  }
}

void Raft::on_applied(Index index) { log_.applied_to(index); }

std::vector<Message> Raft::take_messages() {
  std::vector<Message> out;
  out.swap(msgs_);
  return out;
}

std::vector<ReadState> Raft::take_read_states() {
  std::vector<ReadState> out;
  out.swap(read_states_);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Membership

Index Raft::last_conf_index() const {
  return conf_history_.empty() ? base_conf_index_ : conf_history_.back().index;
}

void Raft::on_log_written(const std::vector<Entry>& ents, Index first_written) {
  // Entries from first_written on replaced whatever we had there: forget configurations that
  // were in the replaced suffix (§4.1: a server falls back to its previous configuration when
  // the entry is removed), then adopt any in the new entries.
  while (!conf_history_.empty() && conf_history_.back().index >= first_written) {
    conf_history_.pop_back();
  }
  for (const Entry& e : ents) {
    if (e.index < first_written || e.type != EntryType::kConfChange) continue;
    auto ce = DecodeConfEntry(e.data);
    if (!ce) Fatal("undecodable configuration entry at " + std::to_string(e.index));
    conf_history_.push_back(ConfAt{e.index, std::move(ce->next)});
  }
  refresh_conf();
}

void Raft::prune_conf_history() {
  while (!conf_history_.empty() && conf_history_.front().index <= log_.committed()) {
    base_conf_ = std::move(conf_history_.front().conf);
    base_conf_index_ = conf_history_.front().index;
    conf_history_.erase(conf_history_.begin());
  }
}

void Raft::refresh_conf() {
  const ConfState& want = conf_history_.empty() ? base_conf_ : conf_history_.back().conf;
  if (want != conf_) apply_conf(want);
}

void Raft::apply_conf(const ConfState& cs) {
  conf_ = cs;
  for (auto it = progress_.begin(); it != progress_.end();) {
    it = cs.contains(it->first) ? std::next(it) : progress_.erase(it);
  }
  auto add = [&](NodeId id, bool learner) {
    auto it = progress_.find(id);
    if (it == progress_.end()) {
      it = progress_.emplace(id, new_progress(id)).first;
      it->second.recent_active = true;  // a new member gets a full timeout before counting
    }
    it->second.is_learner = learner;
  };
  for (NodeId id : cs.voters) add(id, false);
  for (NodeId id : cs.learners) add(id, true);
  logf(LogLevel::kInfo, "configuration now %zu voters, %zu learners", cs.voters.size(),
       cs.learners.size());
  if (role_ == Role::kLeader) {
    if (lead_transferee_ != kNone && !cs.is_voter(lead_transferee_)) abort_leader_transfer();
    // A smaller quorum may already have the entries (e.g. a slow voter was removed).
    if (maybe_commit()) after_leader_commit();
  }
}

}  // namespace raft
