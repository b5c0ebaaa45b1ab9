// Pre-vote (dissertation §9.6) and check-quorum / leader lease (§6.2, §4.2.3).
#include <gtest/gtest.h>

#include "tests/unit/raft/raft_test_util.h"

namespace raft::testing {
namespace {

auto WithPreVote = [](Config& c) { c.pre_vote = true; };
auto WithCheckQuorum = [](Config& c) { c.check_quorum = true; };
auto WithBoth = [](Config& c) {
  c.pre_vote = true;
  c.check_quorum = true;
};

// ----- Pre-vote -----

TEST(PreVote, PreCandidateKeepsItsTermAndVoteAndAsksAboutTheNextTerm) {
  auto s = NewStorage(Voters({1, 2, 3}));
  Config c = TestConfig(1);
  c.pre_vote = true;
  auto r = NewRaft(c, s.get());
  r->campaign();
  EXPECT_EQ(r->role(), Role::kPreCandidate);
  EXPECT_EQ(r->term(), 0u);
  EXPECT_EQ(r->vote(), kNone);
  auto pv = Filter(r->take_messages(), MessageType::kPreVote);
  ASSERT_EQ(pv.size(), 2u);
  EXPECT_EQ(pv[0].term, 1u);
}

TEST(PreVote, WinningThePreVoteStartsTheRealElection) {
  Network net(3, WithPreVote);
  net.Elect(1);
  EXPECT_EQ(net.Leader(), 1u);
  EXPECT_EQ(net.raft(1).term(), 1u) << "exactly one term increment for one election";
}

TEST(PreVote, LosingThePreVoteLeavesNoTrace) {
  Network net(3, WithPreVote);
  net.Elect(1);
  ASSERT_TRUE(net.node(1).Propose("x").has_value());
  net.Settle();
  // Node 3 misses everything after this point, then asks for votes with a stale log.
  net.Isolate(3);
  ASSERT_TRUE(net.node(1).Propose("y").has_value());
  net.Settle();
  net.Heal();
  net.Cut(3, 1);  // 3 can only reach 2
  const Term before = net.raft(2).term();
  net.Elect(3);
  EXPECT_NE(net.raft(3).role(), Role::kLeader);
  EXPECT_EQ(net.raft(2).term(), before) << "a pre-vote never raises anyone's term";
  EXPECT_EQ(net.raft(3).term(), before);
}

TEST(PreVote, PartitionedNodeDoesNotDisruptTheLeaderWhenItReturns) {
  Network net(3, WithPreVote);
  net.Elect(1);
  net.Isolate(3);
  net.TickAll(100);  // 3 keeps timing out, but only pre-votes: its term stays put
  EXPECT_EQ(net.raft(3).term(), net.raft(1).term());
  net.Heal();
  net.TickAll(5);
  EXPECT_EQ(net.Leader(), 1u);
  EXPECT_EQ(net.raft(1).term(), 1u);
  EXPECT_EQ(net.raft(3).leader(), 1u);
}

TEST(PreVote, GrantedEvenAfterVotingInTheCurrentTerm) {
  // A pre-vote is about term+1; a vote cast in the current term does not bind it.
  auto s = NewStorage(Voters({1, 2, 3}));
  Config c = TestConfig(1);
  c.pre_vote = true;
  auto r = NewRaft(c, s.get());
  ASSERT_TRUE(r->step(Msg(MessageType::kVote, 2, 1, 1)).has_value());
  ASSERT_EQ(r->vote(), 2u);
  r->take_messages();
  Message pv = Msg(MessageType::kPreVote, 3, 1, 2);
  ASSERT_TRUE(r->step(pv).has_value());
  auto resp = Filter(r->take_messages(), MessageType::kPreVoteResp);
  ASSERT_EQ(resp.size(), 1u);
  EXPECT_FALSE(resp[0].reject);
  EXPECT_EQ(resp[0].term, 2u) << "answers in the requested term";
  EXPECT_EQ(r->term(), 1u);
  EXPECT_EQ(r->vote(), 2u);
}

TEST(PreVote, RejectedWhenCandidateLogIsBehind) {
  Network net(3, WithPreVote);
  net.Elect(1);
  net.Isolate(3);
  ASSERT_TRUE(net.node(1).Propose("x").has_value());
  net.Settle();
  net.at(1).down = true;
  net.Heal();
  net.Elect(3);
  EXPECT_NE(net.raft(3).role(), Role::kLeader);
  net.Elect(2);
  EXPECT_EQ(net.raft(2).role(), Role::kLeader);
}

// ----- Check-quorum -----

TEST(CheckQuorum, LeaderStepsDownWhenItCannotHearFromAMajority) {
  Network net(3, WithCheckQuorum);
  net.Elect(1);
  net.Isolate(1);
  // Quorum is checked once per election timeout (10 ticks) over the window just ended: the
  // followers answered during the first window, so the leader notices in the second.
  net.TickAll(10);
  EXPECT_EQ(net.raft(1).role(), Role::kLeader) << "it heard from a majority in this window";
  net.TickAll(10);
  EXPECT_EQ(net.raft(1).role(), Role::kFollower);
  EXPECT_EQ(net.raft(1).leader(), kNone);
}

TEST(CheckQuorum, LeaderWithAMajorityStaysLeader) {
  Network net(5, WithCheckQuorum);
  net.Elect(1);
  net.Isolate(4);
  net.Isolate(5);
  net.Cut(1, 4);
  net.TickAll(50);
  EXPECT_EQ(net.raft(1).role(), Role::kLeader);
}

TEST(CheckQuorum, FollowerInLeaseIgnoresVoteRequestsOfHigherTerm) {
  auto s = NewStorage(Voters({1, 2, 3}));
  Config c = TestConfig(1);
  c.check_quorum = true;
  auto r = NewRaft(c, s.get());
  ASSERT_TRUE(r->step(Msg(MessageType::kHeartbeat, 2, 1, 1)).has_value());
  r->take_messages();
  Message v = Msg(MessageType::kVote, 3, 1, 2);
  ASSERT_TRUE(r->step(v).has_value());
  EXPECT_EQ(r->term(), 1u) << "§4.2.3: not even the term changes";
  EXPECT_EQ(r->vote(), kNone);
  EXPECT_TRUE(r->take_messages().empty());
  // Once the lease expires the same request is considered.
  for (int i = 0; i < 10; ++i) r->tick();
  ASSERT_TRUE(r->step(v).has_value());
  EXPECT_EQ(r->term(), 2u);
  EXPECT_EQ(r->vote(), 3u);
}

TEST(CheckQuorum, NodeWithInflatedTermRejoinsWithoutPreVote) {
  // Without pre-vote an isolated node inflates its term. Its vote requests are ignored by the
  // lease, but its answer to the leader's next heartbeat carries the higher term and forces a new
  // election that the up-to-date nodes win; the cluster recovers.
  Network net(3, WithCheckQuorum);
  net.Elect(1);
  ASSERT_TRUE(net.node(1).Propose("x").has_value());
  net.Settle();
  net.Isolate(3);
  net.TickAll(60);
  EXPECT_GT(net.raft(3).term(), net.raft(1).term());
  net.Heal();
  net.TickAll(60);
  const NodeId lead = net.Leader();
  ASSERT_NE(lead, kNone);
  EXPECT_GE(net.raft(lead).term(), net.raft(3).term());
  ASSERT_TRUE(net.node(lead).Propose("y").has_value());
  net.Settle();
  EXPECT_EQ(net.AppliedData(3), (std::vector<std::string>{"x", "y"}));
}

TEST(CheckQuorum, StaleLeaderLearnsTheNewTermFromAnAppendResponse) {
  auto s = NewStorage(Voters({1, 2, 3}));
  Config c = TestConfig(1);
  c.check_quorum = true;
  auto r = NewRaft(c, s.get());
  ASSERT_TRUE(r->step(Msg(MessageType::kVote, 2, 1, 5)).has_value());  // term 5
  r->take_messages();
  ASSERT_TRUE(r->step(Msg(MessageType::kHeartbeat, 3, 1, 4)).has_value());  // stale leader 3
  auto resp = Filter(r->take_messages(), MessageType::kAppendResp);
  ASSERT_EQ(resp.size(), 1u);
  EXPECT_EQ(resp[0].term, 5u);
  EXPECT_EQ(resp[0].to, 3u);
}

TEST(CheckQuorum, WithPreVoteAPartitionedLeaderIsReplacedAndRejoins) {
  Network net(5, WithBoth);
  net.Elect(1);
  net.Isolate(1);
  net.TickAll(40);
  const NodeId lead = net.Leader();
  ASSERT_NE(lead, kNone);
  ASSERT_NE(lead, 1u);
  EXPECT_NE(net.raft(1).role(), Role::kLeader) << "stepped down by check-quorum";
  EXPECT_LT(net.raft(1).term(), net.raft(lead).term()) << "and pre-vote kept its term";
  net.Heal();
  net.TickAll(5);
  EXPECT_EQ(net.raft(1).leader(), lead);
}

}  // namespace
}  // namespace raft::testing
