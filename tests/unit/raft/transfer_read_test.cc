// Leadership transfer (dissertation §3.10) and read-index linearizable reads (§6.4).
#include <gtest/gtest.h>

#include "tests/unit/raft/raft_test_util.h"

namespace raft::testing {
namespace {

auto WithCheckQuorum = [](Config& c) { c.check_quorum = true; };

// ----- Leadership transfer -----

TEST(LeadershipTransfer, UpToDateTargetGetsTimeoutNowAndWins) {
  Network net(3, WithCheckQuorum);
  net.Elect(1);
  const Term t = net.raft(1).term();
  ASSERT_TRUE(net.node(1).TransferLeadership(2).has_value());
  net.Settle();
  EXPECT_EQ(net.Leader(), 2u);
  EXPECT_EQ(net.raft(2).term(), t + 1);
  EXPECT_EQ(net.raft(1).role(), Role::kFollower);
  EXPECT_EQ(net.raft(1).leader(), 2u);
}

TEST(LeadershipTransfer, TimeoutNowOverridesTheLeaderLease) {
  // With check-quorum every follower is "in lease"; only the transfer flag on the vote request
  // lets the target through.
  Network net(3, WithCheckQuorum);
  net.Elect(1);
  net.TickAll(1);
  ASSERT_TRUE(net.node(1).TransferLeadership(3).has_value());
  net.Settle();
  EXPECT_EQ(net.Leader(), 3u);
}

TEST(LeadershipTransfer, LaggingTargetIsCaughtUpFirst) {
  Network net(3);
  net.Elect(1);
  net.Isolate(3);
  ASSERT_TRUE(net.node(1).Propose("x").has_value());
  net.Settle();
  ASSERT_LT(net.raft(1).progress().at(3).match, net.raft(1).log().last_index());
  ASSERT_TRUE(net.node(1).TransferLeadership(3).has_value());
  net.Settle();
  EXPECT_EQ(net.Leader(), 1u) << "no TimeoutNow to a target that would lose";
  net.Heal();
  net.TickAll(1);  // heartbeat -> append -> ack -> TimeoutNow
  EXPECT_EQ(net.Leader(), 3u);
  EXPECT_EQ(net.AppliedData(3), std::vector<std::string>{"x"});
}

TEST(LeadershipTransfer, ProposalsAreRefusedWhileInProgress) {
  Network net(3);
  net.Elect(1);
  net.Isolate(3);
  ASSERT_TRUE(net.node(1).Propose("x").has_value());
  net.Settle();
  ASSERT_TRUE(net.node(1).TransferLeadership(3).has_value());
  auto r = net.node(1).Propose("y");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kProposalDropped);
}

TEST(LeadershipTransfer, AbandonedAfterAnElectionTimeout) {
  Network net(3);
  net.Elect(1);
  net.Isolate(3);
  ASSERT_TRUE(net.node(1).TransferLeadership(3).has_value() || true);
  ASSERT_TRUE(net.node(1).Propose("x").has_value() || true);
  net.Settle();
  ASSERT_TRUE(net.node(1).TransferLeadership(3).has_value());
  EXPECT_EQ(net.raft(1).lead_transferee(), 3u);
  net.TickAll(10);
  EXPECT_EQ(net.raft(1).lead_transferee(), kNone);
  EXPECT_TRUE(net.node(1).Propose("y").has_value());
}

TEST(LeadershipTransfer, OnlyToVoters) {
  Network net;
  for (NodeId id : {1u, 2u, 3u}) net.Add(id, Voters({1, 2}, {3}));
  net.Elect(1);
  auto r = net.node(1).TransferLeadership(3);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kTransferInvalid);
  auto f = net.node(2).TransferLeadership(2);
  ASSERT_FALSE(f.has_value());
  EXPECT_EQ(f.error().code, ErrorCode::kNotLeader);
  EXPECT_TRUE(net.node(1).TransferLeadership(1).has_value()) << "to itself: nothing to do";
}

TEST(LeadershipTransfer, LearnerIgnoresTimeoutNow) {
  auto s = NewStorage(Voters({1, 2}, {3}));
  auto r = NewRaft(TestConfig(3), s.get());
  ASSERT_TRUE(r->step(Msg(MessageType::kTimeoutNow, 1, 3, 1)).has_value());
  EXPECT_EQ(r->role(), Role::kFollower);
}

// ----- Read index -----

TEST(ReadIndex, LeaderAnswersOnlyAfterAHeartbeatRoundWithAMajority) {
  Network net(3);
  net.Elect(1);
  net.DropType(MessageType::kHeartbeatResp);
  ASSERT_TRUE(net.node(1).ReadIndex("r1").has_value());
  net.Settle();
  EXPECT_TRUE(net.at(1).reads.empty()) << "leadership not confirmed";
  net.Heal();
  net.TickAll(1);  // the next heartbeat round carries the read's context
  ASSERT_EQ(net.at(1).reads.size(), 1u);
  EXPECT_EQ(net.at(1).reads[0].context, "r1");
  EXPECT_EQ(net.at(1).reads[0].index, net.raft(1).log().committed());
}

TEST(ReadIndex, IndexCoversEverythingCommittedBeforeTheRead) {
  Network net(3);
  net.Elect(1);
  ASSERT_TRUE(net.node(1).Propose("x").has_value());
  net.Settle();
  const Index committed = net.raft(1).log().committed();
  ASSERT_TRUE(net.node(1).ReadIndex("r").has_value());
  net.Settle();
  ASSERT_EQ(net.at(1).reads.size(), 1u);
  EXPECT_GE(net.at(1).reads[0].index, committed);
}

TEST(ReadIndex, NewLeaderWaitsUntilItCommitsAnEntryOfItsTerm) {
  Network net(3);
  net.DropType(MessageType::kAppendResp);
  net.Elect(1);
  ASSERT_TRUE(net.node(1).ReadIndex("r").has_value());
  net.Settle();
  EXPECT_TRUE(net.at(1).reads.empty()) << "its commit index may still be stale";
  net.Heal();
  net.TickAll(2);
  ASSERT_EQ(net.at(1).reads.size(), 1u);
  EXPECT_GE(net.at(1).reads[0].index, 1u);
}

TEST(ReadIndex, FollowerForwardsToTheLeader) {
  Network net(3);
  net.Elect(1);
  ASSERT_TRUE(net.node(2).ReadIndex("f").has_value());
  net.Settle();
  ASSERT_EQ(net.at(2).reads.size(), 1u);
  EXPECT_EQ(net.at(2).reads[0].context, "f");
  EXPECT_EQ(net.at(2).reads[0].index, net.raft(1).log().committed());
}

TEST(ReadIndex, PartitionedLeaderCannotServeReads) {
  Network net(3);
  net.Elect(1);
  net.Isolate(1);
  ASSERT_TRUE(net.node(1).ReadIndex("stale?").has_value());
  net.TickAll(5);
  EXPECT_TRUE(net.at(1).reads.empty());
}

TEST(ReadIndex, SingleVoterAnswersImmediately) {
  Network net(1);
  net.Elect(1);
  ASSERT_TRUE(net.node(1).ReadIndex("solo").has_value());
  net.Settle();
  ASSERT_EQ(net.at(1).reads.size(), 1u);
}

TEST(ReadIndex, SingleVoterWaitsUntilItCommitsAnEntryOfItsTerm) {
  // Found by the simulator: a node that becomes the only voter (the configuration shrank to it)
  // may not know the latest commit index yet. Entry 2 is committed in the cluster but this node
  // only knows commit 1; answering at once would serve a stale read.
  auto s = NewStorage(Voters({1}));
  ASSERT_TRUE(s->append({E(1, 1), E(2, 1)}).has_value());
  s->set_hard_state(HardState{1, kNone, 1});
  auto r = NewRaft(TestConfig(1), s.get());
  r->campaign();
  ASSERT_EQ(r->role(), Role::kLeader);
  ASSERT_TRUE(r->read_index("r").has_value());
  EXPECT_TRUE(r->take_read_states().empty()) << "commit index 1 may be stale";
  Persist(*r, *s);  // the no-op (index 3) is durable on the only voter: commits 1..3
  auto rs = r->take_read_states();
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].index, 3u);
}

TEST(ReadIndex, AnAnswerToAnEarlierHeartbeatRoundNeverConfirmsALaterRead) {
  // Found by the simulator: a forwarded read was duplicated by the network and queued again under
  // the same id after newer reads; late answers to the first copy's heartbeats then "confirmed"
  // it, releasing the newer reads on a stale confirmation. Reads are confirmed by round now.
  auto s = NewStorage(Voters({1, 2, 3}));
  auto r = NewRaft(TestConfig(1), s.get());
  r->campaign();
  ASSERT_TRUE(r->step(Msg(MessageType::kVoteResp, 2, 1, 1)).has_value());
  Persist(*r, *s);
  Message ack = Msg(MessageType::kAppendResp, 2, 1, 1);
  ack.index = 1;
  ASSERT_TRUE(r->step(ack).has_value());  // no-op committed
  ASSERT_EQ(r->log().committed(), 1u);
  r->take_messages();

  auto heartbeat_round = [&]() {
    auto hbs = Filter(r->take_messages(), MessageType::kHeartbeat);
    EXPECT_FALSE(hbs.empty());
    return hbs.empty() ? Index{0} : hbs[0].index;
  };
  auto answer = [&](NodeId from, Index round) {
    Message m = Msg(MessageType::kHeartbeatResp, from, 1, 1);
    m.index = round;
    ASSERT_TRUE(r->step(m).has_value());
  };
  Message fwd = Msg(MessageType::kReadIndex, 2, 1, 0);
  fwd.context = "x";
  ASSERT_TRUE(r->step(fwd).has_value());
  const Index round_x = heartbeat_round();
  answer(3, round_x);
  ASSERT_EQ(Filter(r->take_messages(), MessageType::kReadIndexResp).size(), 1u) << "x answered";
  // A newer local read, then the duplicated forward of "x".
  ASSERT_TRUE(r->read_index("newer").has_value());
  const Index round_newer = heartbeat_round();
  ASSERT_TRUE(r->step(fwd).has_value());
  heartbeat_round();
  EXPECT_GT(round_newer, round_x);
  // Late answers to the first round, from both followers: they prove nothing about "newer".
  answer(2, round_x);
  answer(3, round_x);
  EXPECT_TRUE(r->take_read_states().empty());
  EXPECT_TRUE(Filter(r->take_messages(), MessageType::kReadIndexResp).empty());
  answer(2, round_newer);
  auto rs = r->take_read_states();
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].context, "newer");
}

TEST(ReadIndex, WithoutLeaderIsAnError) {
  Network net(3);
  auto r = net.node(2).ReadIndex("nobody");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kNoLeader);
}

// ----- Leader hint -----

TEST(LeaderHint, EveryNodeKnowsTheLeaderAndReportsChanges) {
  Network net(3);
  net.Elect(1);
  net.TickAll(1);
  for (NodeId id : {1u, 2u, 3u}) {
    EXPECT_EQ(net.node(id).leader(), 1u);
    EXPECT_EQ(net.node(id).GetStatus().soft_state.leader, 1u);
  }
  ASSERT_TRUE(net.node(1).TransferLeadership(2).has_value());
  // The soft state change is reported in a Ready.
  bool saw = false;
  net.node(1).Tick();
  net.Settle();
  for (NodeId id : {1u, 3u}) EXPECT_EQ(net.node(id).leader(), 2u);
  saw = net.node(2).GetStatus().soft_state.role == Role::kLeader;
  EXPECT_TRUE(saw);
}

}  // namespace
}  // namespace raft::testing
