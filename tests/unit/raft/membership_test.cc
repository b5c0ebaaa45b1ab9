// Learners and one-at-a-time membership changes (Raft dissertation §4), with the configuration
// taking effect when its entry is appended (not when committed).
#include <gtest/gtest.h>

#include "tests/unit/raft/raft_test_util.h"

namespace raft::testing {
namespace {

ConfChange CC(ConfChange::Type t, NodeId id) { return ConfChange{t, id, "addr-" + std::to_string(id)}; }
constexpr auto kAddLearner = ConfChange::Type::kAddLearner;
constexpr auto kPromote = ConfChange::Type::kPromote;
constexpr auto kRemove = ConfChange::Type::kRemove;

// Leader 1 of nodes 1..n, with its no-op committed.
std::unique_ptr<Network> Cluster(int n) {
  auto net = std::make_unique<Network>(n);
  net->Elect(1);
  return net;
}

// ----- Learners -----

TEST(Learners, NeverCampaign) {
  Network net;
  net.Add(1, Voters({1}, {2}));
  net.Add(2, Voters({1}, {2}));
  net.at(1).down = true;
  net.TickAll(100);
  EXPECT_EQ(net.raft(2).role(), Role::kFollower);
  EXPECT_EQ(net.raft(2).term(), 0u);
}

TEST(Learners, ReplicateButDoNotCountTowardsCommitment) {
  Network net;
  for (NodeId id : {1u, 2u, 3u}) net.Add(id, Voters({1, 2}, {3}));
  net.Elect(1);
  ASSERT_EQ(net.Leader(), 1u);
  net.Cut(1, 2);
  ASSERT_TRUE(net.node(1).Propose("x").has_value());
  net.Settle();
  EXPECT_EQ(net.raft(3).log().last_index(), 2u) << "the learner has the entry";
  EXPECT_EQ(net.raft(1).log().committed(), 1u) << "but the learner's copy does not count";
  net.Heal();
  net.TickAll(2);
  EXPECT_EQ(net.raft(1).log().committed(), 2u);
  EXPECT_EQ(net.AppliedData(3), std::vector<std::string>{"x"});
}

TEST(Learners, VoteWhenAskedBecauseTheyMayHaveBeenPromotedUnknowingly) {
  auto s = NewStorage(Voters({1, 2}, {3}));
  auto r = NewRaft(TestConfig(3), s.get());
  ASSERT_TRUE(r->step(Msg(MessageType::kVote, 2, 3, 1)).has_value());
  auto resp = Filter(r->take_messages(), MessageType::kVoteResp);
  ASSERT_EQ(resp.size(), 1u);
  EXPECT_FALSE(resp[0].reject);
}

// ----- Membership changes -----

TEST(Membership, AddLearnerCatchUpThenPromote) {
  auto net = Cluster(3);
  ASSERT_TRUE(net->node(1).Propose("before").has_value());
  net->Settle();
  net->AddEmpty(4);
  ASSERT_TRUE(net->node(1).ProposeConfChange(CC(kAddLearner, 4)).has_value());
  net->Settle();
  EXPECT_TRUE(net->raft(1).conf().is_learner(4));
  EXPECT_TRUE(net->raft(4).conf().is_learner(4)) << "the learner learns its own membership";
  EXPECT_EQ(net->AppliedData(4), std::vector<std::string>{"before"});
  ASSERT_TRUE(net->node(1).ProposeConfChange(CC(kPromote, 4)).has_value());
  net->Settle();
  for (NodeId id : {1u, 2u, 3u, 4u}) EXPECT_TRUE(net->raft(id).conf().is_voter(4)) << id;
  EXPECT_TRUE(net->raft(4).promotable());
  // Four voters: a majority is three.
  net->Cut(1, 2);
  net->Cut(1, 3);
  ASSERT_TRUE(net->node(1).Propose("after").has_value());
  net->Settle();
  EXPECT_EQ(net->AppliedData(1).size(), 1u) << "1 and 4 are not a majority of 4";
}

TEST(Membership, ConfigurationTakesEffectWhenAppendedNotWhenCommitted) {
  auto net = Cluster(3);
  net->DropType(MessageType::kAppend);
  ASSERT_TRUE(net->node(1).ProposeConfChange(CC(kAddLearner, 4)).has_value());
  net->Settle();
  EXPECT_EQ(net->raft(1).log().committed(), 1u);
  EXPECT_TRUE(net->raft(1).conf().is_learner(4)) << "§4.1: in effect as soon as it is in the log";
  EXPECT_TRUE(net->raft(1).progress().count(4));
}

TEST(Membership, AtMostOneUncommittedChange) {
  auto net = Cluster(3);
  net->DropType(MessageType::kAppend);
  ASSERT_TRUE(net->node(1).ProposeConfChange(CC(kAddLearner, 4)).has_value());
  auto second = net->node(1).ProposeConfChange(CC(kAddLearner, 5));
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code, ErrorCode::kConfChangePending);
  net->Heal();
  net->TickAll(2);
  EXPECT_TRUE(net->node(1).ProposeConfChange(CC(kAddLearner, 5)).has_value());
}

TEST(Membership, NewLeaderMustCommitAnEntryOfItsTermFirst) {
  Network net(3);
  net.DropType(MessageType::kAppend);  // the no-op cannot commit
  net.Elect(1);
  ASSERT_EQ(net.Leader(), 1u);
  auto r = net.node(1).ProposeConfChange(CC(kAddLearner, 4));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kConfChangeTooEarly);
}

TEST(Membership, InvalidChangesAreRefused) {
  auto net = Cluster(3);
  struct Case {
    ConfChange cc;
    ErrorCode code;
  } cases[] = {
      {CC(kAddLearner, 2), ErrorCode::kInvalidConfChange},   // already a voter
      {CC(kPromote, 2), ErrorCode::kInvalidConfChange},      // not a learner
      {CC(kRemove, 9), ErrorCode::kInvalidConfChange},       // not a member
      {CC(ConfChange::Type::kBootstrap, 9), ErrorCode::kInvalidConfChange},
  };
  for (const auto& c : cases) {
    auto r = net->node(1).ProposeConfChange(c.cc);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, c.code) << r.error().message;
  }
  auto follower = net->node(2).ProposeConfChange(CC(kAddLearner, 4));
  ASSERT_FALSE(follower.has_value());
  EXPECT_EQ(follower.error().code, ErrorCode::kNotLeader);
}

TEST(Membership, PromotionWaitsForTheLearnerToCatchUp) {
  auto net = Cluster(3);
  net->AddEmpty(4);
  net->Isolate(4);
  ASSERT_TRUE(net->node(1).ProposeConfChange(CC(kAddLearner, 4)).has_value());
  net->Settle();
  auto r = net->node(1).ProposeConfChange(CC(kPromote, 4));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kLearnerNotCaughtUp);
}

TEST(Membership, RemovingAFollowerShrinksTheQuorum) {
  auto net = Cluster(3);
  ASSERT_TRUE(net->node(1).ProposeConfChange(CC(kRemove, 3)).has_value());
  net->Settle();
  EXPECT_EQ(net->raft(1).conf().voters, (std::vector<NodeId>{1, 2}));
  net->at(3).down = true;
  ASSERT_TRUE(net->node(1).Propose("x").has_value());
  net->Settle();
  EXPECT_EQ(net->AppliedData(2), std::vector<std::string>{"x"}) << "1 and 2 are the majority now";
}

TEST(Membership, RemovedLeaderStepsDownOnceTheChangeCommitsAndSomeoneElseLeads) {
  auto net = Cluster(3);
  ASSERT_TRUE(net->node(1).ProposeConfChange(CC(kRemove, 1)).has_value());
  EXPECT_EQ(net->raft(1).role(), Role::kLeader) << "§4.2.2: keeps managing until committed";
  EXPECT_FALSE(net->raft(1).conf().is_voter(1));
  net->Settle();
  EXPECT_EQ(net->raft(1).role(), Role::kFollower);
  net->TickAll(30);
  const NodeId lead = net->Leader();
  ASSERT_TRUE(lead == 2 || lead == 3);
  ASSERT_TRUE(net->node(lead).Propose("x").has_value());
  net->Settle();
  EXPECT_EQ(net->AppliedData(2), std::vector<std::string>{"x"});
  EXPECT_TRUE(net->AppliedData(1).empty()) << "the removed server gets nothing more";
  EXPECT_FALSE(net->raft(1).promotable());
}

TEST(Membership, RemovedLeaderDoesNotCountItselfInTheNewQuorum) {
  auto net = Cluster(3);
  net->Cut(1, 2);
  net->Cut(1, 3);
  ASSERT_TRUE(net->node(1).ProposeConfChange(CC(kRemove, 1)).has_value());
  net->Settle();
  // Only the leader holds the entry; it is not in the new configuration, so nothing commits.
  EXPECT_EQ(net->raft(1).log().committed(), 1u);
  EXPECT_EQ(net->raft(1).role(), Role::kLeader);
}

TEST(Membership, ServerRemovedByAnUncommittedEntryStillCampaignsToCommitIt) {
  // Found by the simulator (dissertation §4.2.2, Figure 4.6): leader 3 of {2, 3} appended "remove
  // 3" and crashed before 2 got it. After a restart, 3's latest configuration is {2} (without
  // itself) while 2 still has {2, 3} and a shorter log, so 2 cannot win either. 3 must still
  // campaign — asking the voters of its latest configuration, not counting itself.
  auto s = NewStorage(Voters({2, 3}));
  ConfEntry ce{CC(kRemove, 3), Voters({2})};
  ASSERT_TRUE(s->append({E(1, 1), Entry{1, 2, EntryType::kConfChange, EncodeConfEntry(ce)}})
                  .has_value());
  s->set_hard_state(HardState{1, 3, 1});
  auto r = NewRaft(TestConfig(3), s.get());
  EXPECT_FALSE(r->conf().is_voter(3));
  EXPECT_TRUE(r->promotable()) << "the removal is not committed yet";
  r->campaign();
  auto votes = Filter(r->take_messages(), MessageType::kVote);
  ASSERT_EQ(votes.size(), 1u);
  EXPECT_EQ(votes[0].to, 2u);
  ASSERT_TRUE(r->step(Msg(MessageType::kVoteResp, 2, 3, r->term())).has_value());
  EXPECT_EQ(r->role(), Role::kLeader) << "a majority of {2}";
  // Once the removal commits (2 acknowledges the no-op after it), 3 steps down and hands over.
  Persist(*r, *s);
  r->take_messages();
  Message ack = Msg(MessageType::kAppendResp, 2, 3, r->term());
  ack.index = 3;
  ASSERT_TRUE(r->step(ack).has_value());
  EXPECT_EQ(r->role(), Role::kFollower);
  EXPECT_FALSE(r->promotable());
  EXPECT_EQ(Filter(r->take_messages(), MessageType::kTimeoutNow).size(), 1u);
}

TEST(Membership, TruncatedConfigurationEntryRevertsTheConfiguration) {
  auto s = NewStorage(Voters({1, 2, 3}));
  auto r = NewRaft(TestConfig(3), s.get());
  ConfEntry ce{CC(kAddLearner, 4), Voters({1, 2, 3}, {4})};
  Entry conf{1, 1, EntryType::kConfChange, EncodeConfEntry(ce)};
  Message app = Msg(MessageType::kAppend, 1, 3, 1);
  app.entries = {conf};
  ASSERT_TRUE(r->step(app).has_value());
  EXPECT_TRUE(r->conf().is_learner(4));
  // A leader of term 2 never had that entry and overwrites index 1.
  Message app2 = Msg(MessageType::kAppend, 2, 3, 2);
  app2.entries = {E(1, 2, "other")};
  ASSERT_TRUE(r->step(app2).has_value());
  EXPECT_FALSE(r->conf().contains(4)) << "back to the previous configuration";
  EXPECT_EQ(r->conf().voters, (std::vector<NodeId>{1, 2, 3}));
}

TEST(Membership, RestartRebuildsTheConfigurationFromTheLog) {
  auto net = Cluster(3);
  ASSERT_TRUE(net->node(1).ProposeConfChange(CC(kAddLearner, 7)).has_value());
  net->Settle();
  net->Restart(2);
  EXPECT_TRUE(net->raft(2).conf().is_learner(7));
}

TEST(Membership, ConfEntryRoundTripsAndRejectsGarbage) {
  ConfEntry ce{CC(kPromote, 4), Voters({1, 2, 4}, {5})};
  auto back = DecodeConfEntry(EncodeConfEntry(ce));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->change, ce.change);
  EXPECT_EQ(back->next, ce.next);
  std::string enc = EncodeConfEntry(ce);
  for (std::size_t cut = 0; cut < enc.size(); ++cut) {
    EXPECT_FALSE(DecodeConfEntry(enc.substr(0, cut)).has_value()) << cut;
  }
  EXPECT_FALSE(DecodeConfEntry(enc + "x").has_value());
  ConfEntry bad{CC(kPromote, 4), ConfState{{2, 1}, {}}};  // unsorted
  EXPECT_FALSE(DecodeConfEntry(EncodeConfEntry(bad)).has_value());
}

TEST(Membership, NextConfStateFollowsTheOneServerRule) {
  ConfState cs = Voters({1, 2, 3});
  auto a = NextConfState(cs, CC(kAddLearner, 4));
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(*a, Voters({1, 2, 3}, {4}));
  auto p = NextConfState(*a, CC(kPromote, 4));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(*p, Voters({1, 2, 3, 4}));
  auto r = NextConfState(*p, CC(kRemove, 1));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, Voters({2, 3, 4}));
  EXPECT_FALSE(NextConfState(Voters({1}), CC(kRemove, 1)).has_value()) << "last voter";
  EXPECT_TRUE(NextConfState(Voters({1}, {2}), CC(kRemove, 2)).has_value());
}

TEST(Membership, BootstrapGivesAllInitialMembersTheSameFirstEntry) {
  auto a = Bootstrap(Voters({1, 2, 3}));
  auto b = Bootstrap(Voters({3, 2, 1}));
  ASSERT_EQ(a.entries.size(), 1u);
  EXPECT_EQ(a.entries, b.entries);
  EXPECT_EQ(a.hard_state, (HardState{1, kNone, 1}));
  MemoryStorage s;
  ASSERT_TRUE(s.append(a.entries).has_value());
  s.set_hard_state(a.hard_state);
  auto r = NewRaft(TestConfig(2), &s);
  EXPECT_EQ(r->conf().voters, (std::vector<NodeId>{1, 2, 3}));
  EXPECT_EQ(r->log().committed(), 1u);
}

}  // namespace
}  // namespace raft::testing
