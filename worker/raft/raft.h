// Raft: the consensus state machine of one node (Ongaro & Ousterhout, "In Search of an
// Understandable Consensus Algorithm", and Ongaro's dissertation, cited as §N).
//
// Pure and deterministic: no threads, clocks, sockets or disk. Time arrives as tick(), peers as
// step(), clients as propose()/read_index()/...; results leave as queued messages, read states and
// the log's unstable/committed parts, which RawNode packages into a Ready. Most callers want
// RawNode (rawnode.h); tests drive Raft directly to check one rule at a time.
//
// Not thread-safe: one caller drives it.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "worker/raft/config.h"
#include "worker/raft/log.h"
#include "worker/raft/logger.h"
#include "worker/raft/message.h"
#include "worker/raft/progress.h"
#include "worker/raft/quorum.h"
#include "worker/raft/rand.h"
#include "worker/raft/read_only.h"
#include "worker/raft/storage.h"
#include "worker/raft/types.h"

namespace raft {

class Raft {
 public:
  // Restores the node from `storage` (hard state, snapshot, log; the configuration is the latest
  // configuration entry in the log, else the snapshot's). Refuses durable state that contradicts
  // itself (kCorruptState) rather than risk safety.
  static Result<std::unique_ptr<Raft>> Create(const Config& cfg, const Storage* storage);

  // --- Inputs ---
  void tick();
  // A message from a peer. Local-only types and malformed messages are refused.
  Result<void> step(const Message& m);
  Result<void> propose(std::string data);
  Result<void> propose_conf_change(const ConfChange& cc);
  Result<void> transfer_leadership(NodeId to);
  Result<void> read_index(std::string context);
  // Start an election now (as if the election timeout elapsed; still uses pre-vote if enabled).
  void campaign();
  // The transport could not deliver to `id`: stop streaming to it optimistically.
  void report_unreachable(NodeId id);
  // The transport finished (ok) or gave up (!ok) sending a snapshot to `id`.
  void report_snapshot(NodeId id, bool ok);

  // The caller made the log durable up to (index, term) and/or installed the snapshot at
  // snapshot_index (0 = none). Only now may the leader count its own copy towards commitment.
  void on_persisted(Index index, Term term, Index snapshot_index);
  // The application applied every committed entry up to `index`.
  void on_applied(Index index);

  // --- Outputs ---
  std::vector<Message> take_messages();
  std::vector<ReadState> take_read_states();
  bool has_messages() const { return !msgs_.empty(); }
  bool has_read_states() const { return !read_states_.empty(); }

  // --- State ---
  NodeId id() const { return id_; }
  Term term() const { return term_; }
  NodeId vote() const { return vote_; }
  NodeId leader() const { return lead_; }
  Role role() const { return role_; }
  HardState hard_state() const { return HardState{term_, vote_, log_.committed()}; }
  const ConfState& conf() const { return conf_; }
  const ProgressMap& progress() const { return progress_; }
  NodeId lead_transferee() const { return lead_transferee_; }
  const RaftLog& log() const { return log_; }
  RaftLog& mutable_log() { return log_; }  // tests only
  int randomized_election_timeout() const { return randomized_election_timeout_; }
  int election_elapsed() const { return election_elapsed_; }
  bool promotable() const;

 private:
  Raft(const Config& cfg, const Storage* storage);

  enum class CampaignKind { kPreElection, kElection, kTransfer };

  // Role transitions. reset() is what every transition shares: new term clears the vote.
  void reset(Term term);
  void become_follower(Term term, NodeId lead);
  void become_pre_candidate();
  void become_candidate();
  void become_leader();
  void reset_randomized_election_timeout();

  void tick_election();
  void tick_heartbeat();
  void hup(CampaignKind kind);
  void do_campaign(CampaignKind kind);
  VoteResult poll(NodeId from, bool granted);

  void step_leader(const Message& m);
  Result<void> step_candidate(const Message& m);
  Result<void> step_follower(const Message& m);

  void handle_append(const Message& m);
  void handle_heartbeat(const Message& m);
  void handle_snapshot(const Message& m);
  bool restore(const Snapshot& s);
  void handle_append_resp(const Message& m, Progress& pr);
  void handle_heartbeat_resp(const Message& m, Progress& pr);
  void handle_read_index(NodeId from, const std::string& context);
  void respond_read(NodeId from, Index index, const std::string& context);

  Result<void> append_entries(std::vector<Entry> ents, bool leader_noop = false);
  void send(Message m);
  bool maybe_send_append(NodeId to, bool send_if_empty);
  void send_append(NodeId to) { maybe_send_append(to, true); }
  bool send_snapshot(NodeId to, Progress& pr);
  void send_heartbeat(NodeId to);
  void send_timeout_now(NodeId to);
  void drop_acks_from(Index from);
  void bcast_append();
  void bcast_heartbeat();
  bool maybe_commit();
  void after_leader_commit();
  bool committed_entry_in_current_term() const;
  bool quorum_active() const;
  void abort_leader_transfer() { lead_transferee_ = kNone; }

  // Membership: the configuration in effect is the latest configuration entry in the log
  // (committed or not), else the snapshot's. conf_history_ holds the configuration entries above
  // the last committed one; base_conf_ is the newest committed configuration.
  Index last_conf_index() const;
  void on_log_written(const std::vector<Entry>& ents, Index first_written);
  void prune_conf_history();
  void refresh_conf();
  void apply_conf(const ConfState& cs);
  Progress new_progress(NodeId id) const;

  void logf(LogLevel level, const char* fmt, ...) const __attribute__((format(printf, 3, 4)));

  const Config cfg_;
  const NodeId id_;
  Rng rng_;
  Logger* logger_;

  // Persistent on all servers (HardState): term_, vote_, and log_.committed().
  Term term_ = 0;
  NodeId vote_ = kNone;
  RaftLog log_;

  // Volatile.
  Role role_ = Role::kFollower;
  NodeId lead_ = kNone;  // leader of term_ as far as we know; the hint for redirecting clients

  ConfState conf_;
  ConfState base_conf_;
  Index base_conf_index_ = 0;
  struct ConfAt {
    Index index;
    ConfState conf;
  };
  std::vector<ConfAt> conf_history_;  // ascending index, all > log_.committed()

  // Leader: one Progress per member (voters and learners), including itself. Followers keep the
  // map too (so membership is visible) but do not use it.
  ProgressMap progress_;
  std::map<NodeId, bool> votes_;  // candidate: granted / rejected, by voter

  // Ticks since we last heard from a valid leader (follower) or since the last check-quorum round
  // (leader). Compared against randomized_election_timeout_ / cfg_.election_tick.
  int election_elapsed_ = 0;
  int heartbeat_elapsed_ = 0;
  int randomized_election_timeout_ = 0;

  NodeId lead_transferee_ = kNone;  // leader: transfer in progress to this voter

  ReadOnly read_only_;
  // Reads that arrived before this leader committed an entry of its own term (§6.4 step 1): the
  // commit index is not known to be current until then.
  struct PendingRead {
    NodeId from;
    std::string context;
  };
  std::vector<PendingRead> pending_reads_;

  // Leader: payload bytes appended in this term and not yet committed, by index.
  std::deque<std::pair<Index, std::uint64_t>> uncommitted_;
  std::uint64_t uncommitted_bytes_ = 0;

  std::vector<Message> msgs_;
  std::vector<ReadState> read_states_;
};

}  // namespace raft
