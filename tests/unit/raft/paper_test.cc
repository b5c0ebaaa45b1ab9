// One test per rule of Figure 2 of the Raft paper ("In Search of an Understandable Consensus
// Algorithm", Ongaro & Ousterhout), named after the rule, plus the §5 properties it relies on.
// Each test drives a single Raft directly and inspects its messages and log.
#include <gtest/gtest.h>

#include "tests/unit/raft/raft_test_util.h"

namespace raft::testing {
namespace {

struct Node {
  std::unique_ptr<MemoryStorage> s;
  std::unique_ptr<Raft> r;
};

Node Make(NodeId id, std::vector<NodeId> voters, const std::function<void(Config&)>& tweak = {}) {
  Node n;
  n.s = NewStorage(Voters(voters));
  Config c = TestConfig(id);
  if (tweak) tweak(c);
  n.r = NewRaft(c, n.s.get());
  return n;
}

// Node `id` with a pre-existing durable log `ents` and term.
Node MakeWithLog(NodeId id, std::vector<NodeId> voters, const std::vector<Entry>& ents, Term term,
                 const std::function<void(Config&)>& tweak = {}) {
  Node n;
  n.s = NewStorage(Voters(voters));
  EXPECT_TRUE(n.s->append(ents).has_value());
  n.s->set_hard_state(HardState{term, kNone, 0});
  Config c = TestConfig(id);
  if (tweak) tweak(c);
  n.r = NewRaft(c, n.s.get());
  return n;
}

void MakeLeader(Node& n) {
  n.r->campaign();
  Persist(*n.r, *n.s);
  for (NodeId v : n.r->conf().voters) {
    if (v == n.r->id() || n.r->role() == Role::kLeader) continue;
    Message m = Msg(MessageType::kVoteResp, v, n.r->id(), n.r->term());
    ASSERT_TRUE(n.r->step(m).has_value());
  }
  ASSERT_EQ(n.r->role(), Role::kLeader);
  Persist(*n.r, *n.s);
  n.r->take_messages();
}

Message AppendFrom(NodeId from, Term term, Index prev, Term prev_term, std::vector<Entry> ents,
                   Index commit) {
  Message m = Msg(MessageType::kAppend, from, 1, term);
  m.index = prev;
  m.log_term = prev_term;
  m.entries = std::move(ents);
  m.commit = commit;
  return m;
}

// ----- Rules for Servers: All Servers -----

TEST(Figure2AllServers, HigherTermInRequestOrResponseConvertsToFollower) {
  for (Role start : {Role::kFollower, Role::kCandidate, Role::kLeader}) {
    Node n = Make(1, {1, 2, 3});
    if (start == Role::kCandidate) n.r->campaign();
    if (start == Role::kLeader) MakeLeader(n);
    ASSERT_EQ(n.r->role(), start);
    const Term t = n.r->term();
    // A response (not a request) from a higher term must also demote.
    Message m = Msg(MessageType::kAppendResp, 2, 1, t + 1);
    ASSERT_TRUE(n.r->step(m).has_value());
    EXPECT_EQ(n.r->role(), Role::kFollower) << RoleName(start);
    EXPECT_EQ(n.r->term(), t + 1);
    EXPECT_EQ(n.r->vote(), kNone) << "a new term starts without a vote";
  }
}

TEST(Figure2AllServers, CommittedEntriesAreAppliedInOrder) {
  auto s = NewStorage(Voters({1, 2, 3}));
  auto rn = RawNode::Create(TestConfig(1), s.get());
  ASSERT_TRUE(rn.has_value());
  RawNode& node = **rn;
  Message m = AppendFrom(2, 1, 0, 0, {E(1, 1, "a"), E(2, 1, "b"), E(3, 1, "c")}, 2);
  m.to = 1;
  ASSERT_TRUE(node.Step(m).has_value());
  Ready rd = node.GetReady();
  ASSERT_EQ(rd.committed_entries.size(), 2u);  // commitIndex 2 > lastApplied 0: apply 1..2
  EXPECT_EQ(rd.committed_entries[0].data, "a");
  EXPECT_EQ(rd.committed_entries[1].data, "b");
  ASSERT_TRUE(s->append(rd.entries).has_value());
  node.Advance();
  EXPECT_EQ(node.raft().log().applied(), 2u);
  EXPECT_FALSE(node.HasReady()) << "nothing more is committed";
}

// ----- Rules for Servers: Followers -----

TEST(Figure2Followers, ElectionTimeoutWithoutLeaderStartsElection) {
  Node n = Make(1, {1, 2, 3});
  const int timeout = n.r->randomized_election_timeout();
  for (int i = 0; i < timeout - 1; ++i) n.r->tick();
  EXPECT_EQ(n.r->role(), Role::kFollower);
  n.r->tick();
  EXPECT_EQ(n.r->role(), Role::kCandidate);
  EXPECT_EQ(n.r->term(), 1u);
}

TEST(Figure2Followers, AppendEntriesFromLeaderResetsElectionTimer) {
  Node n = Make(1, {1, 2, 3});
  for (int round = 0; round < 10; ++round) {
    for (int i = 0; i < n.r->randomized_election_timeout() - 1; ++i) n.r->tick();
    Message hb = Msg(MessageType::kHeartbeat, 2, 1, 1);
    ASSERT_TRUE(n.r->step(hb).has_value());
  }
  EXPECT_EQ(n.r->role(), Role::kFollower);
  EXPECT_EQ(n.r->leader(), 2u);
}

TEST(Figure2Followers, GrantingVoteResetsElectionTimer) {
  Node n = Make(1, {1, 2, 3});
  for (int i = 0; i < n.r->randomized_election_timeout() - 1; ++i) n.r->tick();
  Message v = Msg(MessageType::kVote, 2, 1, 1);
  ASSERT_TRUE(n.r->step(v).has_value());
  EXPECT_EQ(n.r->vote(), 2u);
  EXPECT_EQ(n.r->election_elapsed(), 0);
}

TEST(Figure2Followers, RejectingAVoteDoesNotResetTheElectionTimer) {
  // Found by the simulator (without pre-vote): a node with a stale log and a fast clock kept
  // raising the term; each request reset the only electable node's timer, so no one was elected.
  Node n = MakeWithLog(1, {1, 2, 3}, {E(1, 1), E(2, 1)}, 1);
  const int timeout = n.r->randomized_election_timeout();
  for (int i = 0; i < timeout - 1; ++i) n.r->tick();
  Message v = Msg(MessageType::kVote, 3, 1, 5);  // higher term, stale log: rejected
  v.index = 1;
  v.log_term = 1;
  ASSERT_TRUE(n.r->step(v).has_value());
  EXPECT_EQ(n.r->term(), 5u);
  EXPECT_EQ(n.r->vote(), kNone);
  for (int i = 0; i < 2 * 10 && n.r->role() == Role::kFollower; ++i) n.r->tick();
  EXPECT_EQ(n.r->role(), Role::kCandidate) << "still times out on its own schedule";
  EXPECT_EQ(n.r->term(), 6u);
}

// ----- Rules for Servers: Candidates -----

TEST(Figure2Candidates, ConversionIncrementsTermVotesForSelfAndRequestsVotes) {
  Node n = MakeWithLog(1, {1, 2, 3}, {E(1, 1), E(2, 2)}, 2);
  n.r->campaign();
  EXPECT_EQ(n.r->role(), Role::kCandidate);
  EXPECT_EQ(n.r->term(), 3u);
  EXPECT_EQ(n.r->vote(), 1u);
  EXPECT_EQ(n.r->election_elapsed(), 0);
  auto votes = Filter(n.r->take_messages(), MessageType::kVote);
  ASSERT_EQ(votes.size(), 2u);
  for (const auto& m : votes) {
    EXPECT_EQ(m.term, 3u);
    EXPECT_EQ(m.index, 2u) << "lastLogIndex";
    EXPECT_EQ(m.log_term, 2u) << "lastLogTerm";
  }
}

TEST(Figure2Candidates, VotesFromMajorityBecomesLeader) {
  struct Case {
    int size;
    std::vector<bool> answers;  // from nodes 2.. in order
    Role want;
  } cases[] = {
      {1, {}, Role::kLeader},
      {3, {true, true}, Role::kLeader},
      {3, {true, false}, Role::kLeader},
      {5, {true, true, false, false}, Role::kLeader},
      {5, {true, false, false, false}, Role::kFollower},  // lost: step back
      {3, {false, false}, Role::kFollower},
      {5, {true}, Role::kCandidate},  // undecided
  };
  for (const auto& c : cases) {
    std::vector<NodeId> ids;
    for (int i = 1; i <= c.size; ++i) ids.push_back(static_cast<NodeId>(i));
    Node n = Make(1, ids);
    n.r->campaign();
    for (std::size_t k = 0; k < c.answers.size() && n.r->role() == Role::kCandidate; ++k) {
      Message m = Msg(MessageType::kVoteResp, static_cast<NodeId>(k + 2), 1, n.r->term());
      m.reject = !c.answers[k];
      ASSERT_TRUE(n.r->step(m).has_value());
    }
    EXPECT_EQ(n.r->role(), c.want) << "size " << c.size;
  }
}

TEST(Figure2Candidates, AppendEntriesFromNewLeaderConvertsToFollower) {
  Node n = Make(1, {1, 2, 3});
  n.r->campaign();
  const Term t = n.r->term();
  ASSERT_TRUE(n.r->step(AppendFrom(2, t, 0, 0, {}, 0)).has_value());
  EXPECT_EQ(n.r->role(), Role::kFollower);
  EXPECT_EQ(n.r->term(), t);
  EXPECT_EQ(n.r->leader(), 2u);
}

TEST(Figure2Candidates, ElectionTimeoutStartsNewElection) {
  Node n = Make(1, {1, 2, 3});
  n.r->campaign();
  ASSERT_EQ(n.r->term(), 1u);
  for (int i = 0; i < 2 * 10; ++i) n.r->tick();
  EXPECT_EQ(n.r->role(), Role::kCandidate);
  EXPECT_GE(n.r->term(), 2u);
}

// ----- Rules for Servers: Leaders -----

TEST(Figure2Leaders, UponElectionSendsInitialAppendEntriesToEachServer) {
  Node n = Make(1, {1, 2, 3});
  n.r->campaign();
  ASSERT_TRUE(n.r->step(Msg(MessageType::kVoteResp, 2, 1, 1)).has_value());
  ASSERT_EQ(n.r->role(), Role::kLeader);
  auto apps = Filter(n.r->take_messages(), MessageType::kAppend);
  ASSERT_EQ(apps.size(), 2u);
  for (const auto& m : apps) {
    ASSERT_EQ(m.entries.size(), 1u);
    EXPECT_TRUE(m.entries[0].data.empty()) << "the no-op of the new term";
    EXPECT_EQ(m.entries[0].term, 1u);
  }
}

TEST(Figure2Leaders, RepeatsHeartbeatsDuringIdlePeriods) {
  Node n = Make(1, {1, 2, 3}, [](Config& c) { c.heartbeat_tick = 3; });
  MakeLeader(n);
  for (int i = 0; i < 2; ++i) n.r->tick();
  EXPECT_TRUE(Filter(n.r->take_messages(), MessageType::kHeartbeat).empty());
  n.r->tick();
  EXPECT_EQ(Filter(n.r->take_messages(), MessageType::kHeartbeat).size(), 2u);
}

TEST(Figure2Leaders, NextIndexStartsAfterLastLogIndexAndMatchIndexAtZero) {
  Node n = MakeWithLog(1, {1, 2, 3}, {E(1, 1), E(2, 1), E(3, 2)}, 2);
  MakeLeader(n);
  for (NodeId f : {2u, 3u}) {
    const Progress& pr = n.r->progress().at(f);
    EXPECT_EQ(pr.match, 0u);
    // 3 entries + the no-op at 4; the no-op was already sent, so next moved on in replicate
    // state or stays at 4 while probing.
    EXPECT_EQ(pr.next, 4u);
  }
}

TEST(Figure2Leaders, ClientCommandIsAppendedToLocalLogAndReplicated) {
  Node n = Make(1, {1, 2, 3});
  MakeLeader(n);
  // Let both followers acknowledge the no-op so they are in replicate state.
  for (NodeId f : {2u, 3u}) {
    Message ack = Msg(MessageType::kAppendResp, f, 1, n.r->term());
    ack.index = 1;
    ASSERT_TRUE(n.r->step(ack).has_value());
  }
  n.r->take_messages();
  ASSERT_TRUE(n.r->propose("x").has_value());
  EXPECT_EQ(n.r->log().last_index(), 2u);
  EXPECT_EQ(n.r->log().term_or_zero(2), n.r->term());
  auto apps = Filter(n.r->take_messages(), MessageType::kAppend);
  ASSERT_EQ(apps.size(), 2u);
  for (const auto& m : apps) {
    EXPECT_EQ(m.index, 1u) << "prevLogIndex";
    ASSERT_EQ(m.entries.size(), 1u);
    EXPECT_EQ(m.entries[0].data, "x");
  }
}

TEST(Figure2Leaders, RespondsToClientOnlyAfterEntryIsCommittedAndApplied) {
  Network net(3);
  net.Elect(1);
  net.DropType(MessageType::kAppend);  // no follower receives the command
  ASSERT_TRUE(net.node(1).Propose("cmd").has_value());
  net.Settle();
  EXPECT_TRUE(net.AppliedData(1).empty()) << "not committed: must not be applied";
  net.Heal();
  net.TickAll(2);  // heartbeats reveal the missing entries; they are resent
  EXPECT_EQ(net.AppliedData(1), std::vector<std::string>{"cmd"});
}

TEST(Figure2Leaders, SuccessfulAppendUpdatesNextIndexAndMatchIndex) {
  Node n = Make(1, {1, 2, 3});
  MakeLeader(n);
  Message ack = Msg(MessageType::kAppendResp, 2, 1, n.r->term());
  ack.index = 1;
  ASSERT_TRUE(n.r->step(ack).has_value());
  EXPECT_EQ(n.r->progress().at(2).match, 1u);
  EXPECT_EQ(n.r->progress().at(2).next, 2u);
  EXPECT_EQ(n.r->progress().at(2).state, ProgressState::kReplicate);
}

TEST(Figure2Leaders, LogInconsistencyDecrementsNextIndexAndRetries) {
  // Leader log 1..5 at term 1, then the no-op at 6 (term 2). Follower 2 only has 1..2.
  std::vector<Entry> ents;
  for (Index i = 1; i <= 5; ++i) ents.push_back(E(i, 1));
  Node n = MakeWithLog(1, {1, 2, 3}, ents, 1);
  MakeLeader(n);
  ASSERT_EQ(n.r->progress().at(2).next, 6u);
  // Rejection of prev=5 with the hint "my last entry is (2, term 1)".
  Message rej = Msg(MessageType::kAppendResp, 2, 1, n.r->term());
  rej.index = 5;
  rej.reject = true;
  rej.reject_hint = 2;
  rej.log_term = 1;
  ASSERT_TRUE(n.r->step(rej).has_value());
  EXPECT_EQ(n.r->progress().at(2).next, 3u) << "retry right after the hinted entry";
  auto apps = Filter(n.r->take_messages(), MessageType::kAppend);
  ASSERT_EQ(apps.size(), 1u);
  EXPECT_EQ(apps[0].index, 2u);
  EXPECT_EQ(apps[0].log_term, 1u);
  EXPECT_EQ(apps[0].entries.size(), 4u);  // 3, 4, 5 and the no-op
}

TEST(Figure2Leaders, FastBacktrackingSkipsAWholeTermPerRoundTrip) {
  // The etcd example: leader terms 1 3 3 3 5 5 5 5 5, follower 1 1 1 1 2 2. A probe at 9 is
  // rejected with hint (6, term 2); every leader entry in 2..6 has a term > 2, so the next probe
  // goes straight to index 1.
  std::vector<Entry> ents = {E(1, 1), E(2, 3), E(3, 3), E(4, 3), E(5, 5),
                             E(6, 5), E(7, 5), E(8, 5), E(9, 5)};
  Node n = MakeWithLog(1, {1, 2, 3}, ents, 5);
  MakeLeader(n);
  // Force a probe anchored at 9.
  auto& pr = const_cast<Progress&>(n.r->progress().at(2));
  pr.next = 10;
  Message rej = Msg(MessageType::kAppendResp, 2, 1, n.r->term());
  rej.index = 9;
  rej.reject = true;
  rej.reject_hint = 6;
  rej.log_term = 2;
  ASSERT_TRUE(n.r->step(rej).has_value());
  EXPECT_EQ(n.r->progress().at(2).next, 2u);
}

TEST(Figure2Leaders, CommitsWhenMajorityMatchesAnEntryOfCurrentTerm) {
  Node n = Make(1, {1, 2, 3, 4, 5});
  MakeLeader(n);
  ASSERT_TRUE(n.r->propose("x").has_value());
  Persist(*n.r, *n.s);  // leader's own copy durable: 1 of 5
  Message ack = Msg(MessageType::kAppendResp, 2, 1, n.r->term());
  ack.index = 2;
  ASSERT_TRUE(n.r->step(ack).has_value());
  EXPECT_EQ(n.r->log().committed(), 0u) << "2 of 5 is not a majority";
  ack.from = 3;
  ASSERT_TRUE(n.r->step(ack).has_value());
  EXPECT_EQ(n.r->log().committed(), 2u) << "3 of 5 is";
}

TEST(Figure2Leaders, LeaderCountsItsOwnEntryOnlyOnceDurable) {
  Node n = Make(1, {1, 2, 3});
  MakeLeader(n);
  ASSERT_TRUE(n.r->propose("x").has_value());
  Message ack = Msg(MessageType::kAppendResp, 2, 1, n.r->term());
  ack.index = 2;
  ASSERT_TRUE(n.r->step(ack).has_value());
  EXPECT_EQ(n.r->log().committed(), 1u) << "leader's copy of 2 is not yet persisted";
  Persist(*n.r, *n.s);
  EXPECT_EQ(n.r->log().committed(), 2u);
}

TEST(Figure2Leaders, NeverCommitsAnEarlierTermEntryByCountingReplicas) {
  // Figure 8 (c): leader of term 4 holds (2, term 2) and replicates it to a majority; that alone
  // must not commit it, because a server with (2, term 3) could still win an election and
  // overwrite it. Only an entry of term 4 reaching a majority commits both.
  Node n = MakeWithLog(1, {1, 2, 3, 4, 5}, {E(1, 1), E(2, 2)}, 3);
  n.r->campaign();  // term 4
  for (NodeId v : {2u, 3u}) ASSERT_TRUE(n.r->step(Msg(MessageType::kVoteResp, v, 1, 4)).has_value());
  ASSERT_EQ(n.r->role(), Role::kLeader);
  Persist(*n.r, *n.s);  // durable: 1, 2 and the no-op at 3 (term 4)
  for (NodeId f : {2u, 3u}) {
    Message ack = Msg(MessageType::kAppendResp, f, 1, 4);
    ack.index = 2;  // they have index 2 (term 2), not yet the no-op
    ASSERT_TRUE(n.r->step(ack).has_value());
  }
  EXPECT_EQ(n.r->log().committed(), 0u) << "entry 2 is of term 2: counting replicas is not enough";
  for (NodeId f : {2u, 3u}) {
    Message ack = Msg(MessageType::kAppendResp, f, 1, 4);
    ack.index = 3;
    ASSERT_TRUE(n.r->step(ack).has_value());
  }
  EXPECT_EQ(n.r->log().committed(), 3u) << "the term-4 entry commits everything before it";
}

// ----- AppendEntries RPC, receiver implementation -----

TEST(Figure2AppendEntries, Rule1_RejectWhenTermIsStale) {
  // Also without pre-vote and check-quorum (found by the simulator: see docs/raft.md).
  Node n = MakeWithLog(1, {1, 2, 3}, {E(1, 1)}, 3);
  ASSERT_TRUE(n.r->step(AppendFrom(2, 2, 1, 1, {E(2, 2)}, 2)).has_value());
  EXPECT_EQ(n.r->log().last_index(), 1u) << "nothing appended";
  EXPECT_EQ(n.r->log().committed(), 0u);
  auto resp = Filter(n.r->take_messages(), MessageType::kAppendResp);
  ASSERT_EQ(resp.size(), 1u);
  EXPECT_EQ(resp[0].term, 3u) << "tells the stale leader the current term";
}

TEST(Figure2AppendEntries, Rule2_RejectWhenNoEntryAtPrevLogIndexWithPrevLogTerm) {
  Node n = MakeWithLog(1, {1, 2, 3}, {E(1, 1), E(2, 1)}, 2);
  // Term mismatch at prevLogIndex 2, and prevLogIndex beyond our log.
  for (auto [prev, prev_term] : {std::pair<Index, Term>{2, 2}, {3, 2}}) {
    ASSERT_TRUE(n.r->step(AppendFrom(2, 2, prev, prev_term, {E(prev + 1, 2)}, 0)).has_value());
    auto resp = Filter(n.r->take_messages(), MessageType::kAppendResp);
    ASSERT_EQ(resp.size(), 1u);
    EXPECT_TRUE(resp[0].reject);
    EXPECT_EQ(resp[0].index, prev);
    EXPECT_LE(resp[0].reject_hint, 2u);
    EXPECT_EQ(n.r->log().last_index(), 2u);
  }
}

TEST(Figure2AppendEntries, Rule3_ConflictingEntryAndAllThatFollowAreDeleted) {
  Node n = MakeWithLog(1, {1, 2, 3}, {E(1, 1), E(2, 1), E(3, 1), E(4, 1)}, 1);
  ASSERT_TRUE(n.r->step(AppendFrom(2, 2, 1, 1, {E(2, 1), E(3, 2)}, 0)).has_value());
  auto log = n.r->log().all_entries();
  ASSERT_EQ(log.size(), 3u) << "entry 4 followed the conflict at 3 and is gone";
  EXPECT_EQ(log[1].term, 1u);
  EXPECT_EQ(log[2].term, 2u);
}

TEST(Figure2AppendEntries, Rule4_NewEntriesAppendedAndExistingOnesKept) {
  Node n = MakeWithLog(1, {1, 2, 3}, {E(1, 1), E(2, 1), E(3, 1)}, 1);
  // A delayed, shorter append must not truncate entries it agrees with (3 stays).
  ASSERT_TRUE(n.r->step(AppendFrom(2, 1, 0, 0, {E(1, 1), E(2, 1)}, 0)).has_value());
  EXPECT_EQ(n.r->log().last_index(), 3u);
  ASSERT_TRUE(n.r->step(AppendFrom(2, 1, 3, 1, {E(4, 1, "d")}, 0)).has_value());
  EXPECT_EQ(n.r->log().last_index(), 4u);
  auto resp = Filter(n.r->take_messages(), MessageType::kAppendResp);
  ASSERT_EQ(resp.size(), 2u);
  EXPECT_EQ(resp[0].index, 2u) << "acknowledges what that message covered";
  EXPECT_EQ(resp[1].index, 4u);
}

TEST(Figure2AppendEntries, Rule5_CommitIndexIsMinOfLeaderCommitAndLastNewEntry) {
  Node n = MakeWithLog(1, {1, 2, 3}, {E(1, 1), E(2, 1), E(3, 1), E(4, 1)}, 1);
  // Our log goes up to 4, but this message only vouches for entries up to 2.
  ASSERT_TRUE(n.r->step(AppendFrom(2, 1, 1, 1, {E(2, 1)}, 4)).has_value());
  EXPECT_EQ(n.r->log().committed(), 2u);
  ASSERT_TRUE(n.r->step(AppendFrom(2, 1, 2, 1, {E(3, 1)}, 3)).has_value());
  EXPECT_EQ(n.r->log().committed(), 3u);
  // Never backwards.
  ASSERT_TRUE(n.r->step(AppendFrom(2, 1, 3, 1, {}, 1)).has_value());
  EXPECT_EQ(n.r->log().committed(), 3u);
}

// ----- RequestVote RPC, receiver implementation -----

TEST(Figure2RequestVote, Rule1_RejectWhenTermIsStale) {
  Node n = MakeWithLog(1, {1, 2, 3}, {}, 5);
  Message v = Msg(MessageType::kVote, 2, 1, 4);
  ASSERT_TRUE(n.r->step(v).has_value());
  EXPECT_EQ(n.r->vote(), kNone);
  EXPECT_TRUE(Filter(n.r->take_messages(), MessageType::kVoteResp).empty() ||
              Filter(n.r->take_messages(), MessageType::kVoteResp)[0].reject);
}

TEST(Figure2RequestVote, Rule2_AtMostOneVotePerTerm) {
  Node n = Make(1, {1, 2, 3});
  ASSERT_TRUE(n.r->step(Msg(MessageType::kVote, 2, 1, 1)).has_value());
  ASSERT_TRUE(n.r->step(Msg(MessageType::kVote, 3, 1, 1)).has_value());
  ASSERT_TRUE(n.r->step(Msg(MessageType::kVote, 2, 1, 1)).has_value());  // a retry of 2's
  auto resp = Filter(n.r->take_messages(), MessageType::kVoteResp);
  ASSERT_EQ(resp.size(), 3u);
  EXPECT_FALSE(resp[0].reject);
  EXPECT_TRUE(resp[1].reject) << "already voted for 2 in term 1";
  EXPECT_FALSE(resp[2].reject) << "votedFor == candidateId: grant again";
  EXPECT_EQ(n.r->vote(), 2u);
}

TEST(Figure2RequestVote, Rule2_OnlyForCandidatesWhoseLogIsAtLeastAsUpToDate) {
  // Voter's last entry is (index 2, term 2). §5.4.1: compare last terms, then lengths.
  struct Case {
    Index index;
    Term term;
    bool grant;
  } cases[] = {
      {1, 1, false}, {2, 1, false}, {3, 1, false},  // lower last term loses whatever the length
      {1, 2, false},                                // same term, shorter
      {2, 2, true},  {3, 2, true},                  // same term, at least as long
      {1, 3, true},                                 // higher last term wins even if shorter
  };
  for (const auto& c : cases) {
    Node n = MakeWithLog(1, {1, 2, 3}, {E(1, 1), E(2, 2)}, 2);
    Message v = Msg(MessageType::kVote, 2, 1, 3);
    v.index = c.index;
    v.log_term = c.term;
    ASSERT_TRUE(n.r->step(v).has_value());
    auto resp = Filter(n.r->take_messages(), MessageType::kVoteResp);
    ASSERT_EQ(resp.size(), 1u);
    EXPECT_EQ(!resp[0].reject, c.grant) << "candidate last (" << c.index << ", " << c.term << ")";
  }
}

// ----- State: persistent on all servers (updated on stable storage before responding) -----

TEST(Figure2PersistentState, VoteIsInTheSameReadyAsTheVoteResponse) {
  auto s = NewStorage(Voters({1, 2, 3}));
  auto rn = RawNode::Create(TestConfig(1), s.get());
  ASSERT_TRUE(rn.has_value());
  ASSERT_TRUE((*rn)->Step(Msg(MessageType::kVote, 2, 1, 1)).has_value());
  Ready rd = (*rn)->GetReady();
  ASSERT_TRUE(rd.hard_state.has_value());
  EXPECT_EQ(rd.hard_state->vote, 2u);
  EXPECT_EQ(rd.hard_state->term, 1u);
  EXPECT_TRUE(rd.must_sync);
  ASSERT_EQ(Filter(rd.messages, MessageType::kVoteResp).size(), 1u);
}

TEST(Figure2PersistentState, AcceptedEntriesAreInTheSameReadyAsTheAcknowledgement) {
  auto s = NewStorage(Voters({1, 2, 3}));
  auto rn = RawNode::Create(TestConfig(1), s.get());
  ASSERT_TRUE(rn.has_value());
  ASSERT_TRUE((*rn)->Step(AppendFrom(2, 1, 0, 0, {E(1, 1, "a")}, 0)).has_value());
  Ready rd = (*rn)->GetReady();
  ASSERT_EQ(rd.entries.size(), 1u);
  EXPECT_TRUE(rd.must_sync);
  auto acks = Filter(rd.messages, MessageType::kAppendResp);
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].index, 1u);
  EXPECT_FALSE((*rn)->HasReady()) << "no new Ready until the caller advanced this one";
}

TEST(Figure2PersistentState, AckForEntriesOverwrittenBeforePersistingIsNeverSent) {
  // Found by the simulator: an acknowledgement queued for a leader of term 1 outlived its entries
  // when a leader of term 2 overwrote them before the Ready was taken, so it would have vouched
  // for entries this node never persisted.
  auto s = NewStorage(Voters({1, 2, 3}));
  auto rn = RawNode::Create(TestConfig(1), s.get());
  ASSERT_TRUE(rn.has_value());
  ASSERT_TRUE((*rn)->Step(AppendFrom(2, 1, 0, 0, {E(1, 1, "a"), E(2, 1, "b")}, 0)).has_value());
  ASSERT_TRUE((*rn)->Step(AppendFrom(3, 2, 0, 0, {E(1, 2, "c")}, 0)).has_value());
  Ready rd = (*rn)->GetReady();
  ASSERT_EQ(rd.entries.size(), 1u);
  EXPECT_EQ(rd.entries[0].data, "c");
  for (const Message& m : Filter(rd.messages, MessageType::kAppendResp)) {
    EXPECT_FALSE(m.to == 2 && !m.reject && m.index >= 1) << "ack for entries never persisted";
  }
  ASSERT_EQ(Filter(rd.messages, MessageType::kAppendResp).size(), 1u) << "only the term-2 ack";
  EXPECT_EQ(Filter(rd.messages, MessageType::kAppendResp)[0].to, 3u);
}

TEST(Figure2PersistentState, RestartRecoversTermVoteAndLog) {
  auto s = NewStorage(Voters({1, 2, 3}));
  {
    auto rn = RawNode::Create(TestConfig(1), s.get());
    ASSERT_TRUE((*rn)->Step(AppendFrom(2, 1, 0, 0, {E(1, 1, "a")}, 1)).has_value());
    Message v = Msg(MessageType::kVote, 3, 1, 2);
    v.index = 1;
    v.log_term = 1;
    ASSERT_TRUE((*rn)->Step(v).has_value());
    Ready rd = (*rn)->GetReady();
    ASSERT_TRUE(s->append(rd.entries).has_value());
    s->set_hard_state(*rd.hard_state);
    (*rn)->Advance();
  }
  auto rn = RawNode::Create(TestConfig(1), s.get());
  ASSERT_TRUE(rn.has_value());
  const Raft& r = (*rn)->raft();
  EXPECT_EQ(r.term(), 2u);
  EXPECT_EQ(r.vote(), 3u);
  EXPECT_EQ(r.log().last_index(), 1u);
  EXPECT_EQ(r.log().committed(), 1u);
  // Still bound by the vote cast before the crash.
  Message v = Msg(MessageType::kVote, 2, 1, 2);
  v.index = 1;
  v.log_term = 1;
  ASSERT_TRUE((*rn)->Step(v).has_value());
  Ready rd = (*rn)->GetReady();
  auto resp = Filter(rd.messages, MessageType::kVoteResp);
  ASSERT_EQ(resp.size(), 1u);
  EXPECT_TRUE(resp[0].reject);
}

TEST(Figure2PersistentState, RefusesToStartWhenCommitIsBeyondTheLog) {
  auto s = NewStorage(Voters({1, 2, 3}));
  ASSERT_TRUE(s->append({E(1, 1)}).has_value());
  s->set_hard_state(HardState{1, kNone, 5});  // entries 2..5 lost: acknowledged data is gone
  auto rn = RawNode::Create(TestConfig(1), s.get());
  ASSERT_FALSE(rn.has_value());
  EXPECT_EQ(rn.error().code, ErrorCode::kCorruptState);
}

// ----- §5.2: randomized election timeouts -----

TEST(Section5_2, ElectionTimeoutsAreRandomizedWithinOneToTwoTimesTheBase) {
  std::set<int> seen;
  for (NodeId id = 1; id <= 50; ++id) {
    Node n = Make(id, {id});
    const int t = n.r->randomized_election_timeout();
    EXPECT_GE(t, 10);
    EXPECT_LT(t, 20);
    seen.insert(t);
  }
  EXPECT_GT(seen.size(), 3u) << "timeouts must spread to avoid split votes";
}

TEST(Section5_2, SameSeedGivesSameTimeouts) {
  Node a = Make(1, {1, 2, 3});
  Node b = Make(1, {1, 2, 3});
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(a.r->randomized_election_timeout(), b.r->randomized_election_timeout());
    a.r->campaign();
    b.r->campaign();
  }
}

// ----- §5.4 end to end: leader completeness through the election restriction -----

TEST(Section5_4, NodeMissingCommittedEntriesCannotBeElected) {
  Network net(3);
  net.Elect(1);
  net.Cut(1, 3);
  ASSERT_TRUE(net.node(1).Propose("committed").has_value());
  net.Settle();
  ASSERT_EQ(net.AppliedData(1), std::vector<std::string>{"committed"});  // 1 and 2 hold it
  net.at(1).down = true;
  net.Heal();
  net.Elect(3);
  EXPECT_NE(net.raft(3).role(), Role::kLeader) << "2 must refuse: 3's log is behind";
  net.Elect(2);
  ASSERT_EQ(net.Leader(), 2u);
  net.Settle();
  EXPECT_EQ(net.AppliedData(3), std::vector<std::string>{"committed"});
}

}  // namespace
}  // namespace raft::testing
