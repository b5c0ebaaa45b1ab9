// Replication machinery: batching, pipelining with bounded in-flight windows, progress states,
// snapshots and log compaction.
#include <gtest/gtest.h>

#include "tests/unit/raft/raft_test_util.h"

namespace raft::testing {
namespace {

struct Leader {
  std::unique_ptr<MemoryStorage> s;
  std::unique_ptr<Raft> r;
};

Leader MakeLeader(const std::function<void(Config&)>& tweak = {}) {
  Leader l;
  l.s = NewStorage(Voters({1, 2, 3}));
  Config c = TestConfig(1);
  if (tweak) tweak(c);
  l.r = NewRaft(c, l.s.get());
  l.r->campaign();
  EXPECT_TRUE(l.r->step(Msg(MessageType::kVoteResp, 2, 1, 1)).has_value());
  Persist(*l.r, *l.s);
  l.r->take_messages();
  return l;
}

void Ack(Raft& r, NodeId from, Index index) {
  Message m = Msg(MessageType::kAppendResp, from, 1, r.term());
  m.index = index;
  ASSERT_TRUE(r.step(m).has_value());
}

TEST(Replication, ProposalsMadeTogetherTravelInOneAppend) {
  // Node 3 is probing with the leader's no-op in flight. Entries proposed meanwhile wait and then
  // go out together.
  Leader l = MakeLeader();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(l.r->propose("p" + std::to_string(i)).has_value());
  auto apps = Filter(l.r->take_messages(), MessageType::kAppend);
  // Node 3 is still probing (one message in flight): nothing more goes to it until it answers.
  std::size_t to3 = 0;
  for (const auto& m : apps) to3 += m.to == 3 ? 1 : 0;
  EXPECT_EQ(to3, 0u);
  Ack(*l.r, 3, 1);
  auto after = Filter(l.r->take_messages(), MessageType::kAppend);
  ASSERT_FALSE(after.empty());
  EXPECT_EQ(after[0].to, 3u);
  EXPECT_EQ(after[0].entries.size(), 5u) << "the backlog goes out as one batch";
}

TEST(Replication, LeaderCountsTicksSinceEachFollowerLastAnswered) {
  Leader l = MakeLeader();
  for (int i = 0; i < 4; ++i) l.r->tick();
  EXPECT_EQ(l.r->progress().at(2).ticks_since_contact, 4u);
  Ack(*l.r, 2, 1);
  Message beat = Msg(MessageType::kHeartbeatResp, 3, 1, l.r->term());
  ASSERT_TRUE(l.r->step(beat).has_value());
  l.r->tick();
  EXPECT_EQ(l.r->progress().at(2).ticks_since_contact, 1u) << "an append answer is contact";
  EXPECT_EQ(l.r->progress().at(3).ticks_since_contact, 1u) << "so is a heartbeat answer";
}

TEST(Replication, MaxSizePerMessageSplitsBatches) {
  Leader l = MakeLeader([](Config& c) { c.max_size_per_msg = 100; });
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(l.r->propose(std::string(40, 'x')).has_value());
  l.r->take_messages();
  Ack(*l.r, 2, 1);  // now replicate: send everything in size-bounded messages
  auto apps = Filter(l.r->take_messages(), MessageType::kAppend);
  ASSERT_GT(apps.size(), 1u);
  for (const auto& m : apps) {
    std::uint64_t bytes = 0;
    for (const auto& e : m.entries) bytes += EntrySize(e);
    EXPECT_TRUE(m.entries.size() == 1 || bytes <= 100) << bytes;
  }
}

TEST(Replication, PipelinedAppendsAreBoundedByTheInflightWindow) {
  Leader l = MakeLeader([](Config& c) { c.max_inflight_msgs = 3; });
  Ack(*l.r, 2, 1);
  l.r->take_messages();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(l.r->propose("x").has_value());
  auto apps = Filter(l.r->take_messages(), MessageType::kAppend);
  std::size_t to2 = 0;
  for (const auto& m : apps) to2 += m.to == 2 ? 1 : 0;
  EXPECT_EQ(to2, 3u) << "pipelined, but at most 3 unacknowledged messages";
  EXPECT_TRUE(l.r->progress().at(2).inflights.full());
  Ack(*l.r, 2, 2);  // frees the first
  auto more = Filter(l.r->take_messages(), MessageType::kAppend);
  ASSERT_FALSE(more.empty());
  EXPECT_GT(more[0].entries.size(), 1u) << "the rest goes out batched";
}

TEST(Replication, HeartbeatResponseUnsticksAFullWindowAfterLosses) {
  Leader l = MakeLeader([](Config& c) { c.max_inflight_msgs = 2; });
  Ack(*l.r, 2, 1);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(l.r->propose("x").has_value());
  l.r->take_messages();  // all lost
  ASSERT_TRUE(l.r->progress().at(2).is_paused());
  ASSERT_TRUE(l.r->step(Msg(MessageType::kHeartbeatResp, 2, 1, l.r->term())).has_value());
  EXPECT_FALSE(Filter(l.r->take_messages(), MessageType::kAppend).empty());
}

TEST(Replication, RejectionMovesReplicateBackToProbe) {
  Leader l = MakeLeader();
  Ack(*l.r, 2, 1);
  ASSERT_TRUE(l.r->propose("x").has_value());
  ASSERT_EQ(l.r->progress().at(2).state, ProgressState::kReplicate);
  Message rej = Msg(MessageType::kAppendResp, 2, 1, l.r->term());
  rej.index = 1;
  rej.reject = true;
  rej.reject_hint = 0;
  // Stale: index 1 is already matched.
  ASSERT_TRUE(l.r->step(rej).has_value());
  EXPECT_EQ(l.r->progress().at(2).state, ProgressState::kReplicate);
  rej.index = 2;
  rej.reject_hint = 1;
  ASSERT_TRUE(l.r->step(rej).has_value());
  EXPECT_EQ(l.r->progress().at(2).state, ProgressState::kProbe);
}

TEST(Replication, CompactedEntriesAreSentAsASnapshot) {
  Network net(3);
  net.Elect(1);
  net.Isolate(3);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(net.node(1).Propose("v" + std::to_string(i)).has_value());
  net.Settle();
  net.Compact(1);
  ASSERT_GT(net.raft(1).log().first_index(), 2u);
  net.Heal();
  net.TickAll(3);
  EXPECT_EQ(net.AppliedData(3), net.AppliedData(1));
  EXPECT_EQ(net.raft(3).log().committed(), net.raft(1).log().committed());
  EXPECT_EQ(net.raft(1).progress().at(3).state, ProgressState::kReplicate);
  // And it keeps replicating normally afterwards.
  ASSERT_TRUE(net.node(1).Propose("after").has_value());
  net.Settle();
  EXPECT_EQ(net.AppliedData(3).back(), "after");
}

TEST(Replication, LostSnapshotIsRetried) {
  Network net(3);
  net.Elect(1);
  net.Isolate(3);
  ASSERT_TRUE(net.node(1).Propose("v").has_value());
  net.Settle();
  net.Compact(1);
  net.Heal();
  net.DropType(MessageType::kSnapshot);
  net.TickAll(3);
  ASSERT_EQ(net.raft(1).progress().at(3).state, ProgressState::kSnapshot);
  net.Heal();
  net.TickAll(12);  // silence for an election timeout: presumed lost, probe and resend
  EXPECT_EQ(net.AppliedData(3), net.AppliedData(1));
}

TEST(Replication, FollowerIgnoresASnapshotItAlreadyCovers) {
  auto s = NewStorage(Voters({1, 2, 3}));
  auto r = NewRaft(TestConfig(2), s.get());
  Message app = Msg(MessageType::kAppend, 1, 2, 1);
  app.entries = {E(1, 1), E(2, 1), E(3, 1)};
  app.commit = 3;
  ASSERT_TRUE(r->step(app).has_value());
  r->take_messages();
  Snapshot snap;
  snap.meta = SnapshotMeta{2, 1, Voters({1, 2, 3})};
  Message m = Msg(MessageType::kSnapshot, 1, 2, 1);
  m.snapshot = std::make_shared<const Snapshot>(snap);
  ASSERT_TRUE(r->step(m).has_value());
  EXPECT_FALSE(r->log().unstable_snapshot().has_value());
  EXPECT_EQ(r->log().last_index(), 3u);
  auto resp = Filter(r->take_messages(), MessageType::kAppendResp);
  ASSERT_EQ(resp.size(), 1u);
  EXPECT_EQ(resp[0].index, 3u) << "answers with its commit index";
}

TEST(Replication, SnapshotWhoseLastEntryMatchesOnlyAdvancesCommit) {
  auto s = NewStorage(Voters({1, 2, 3}));
  auto r = NewRaft(TestConfig(2), s.get());
  Message app = Msg(MessageType::kAppend, 1, 2, 1);
  app.entries = {E(1, 1), E(2, 1), E(3, 1)};
  ASSERT_TRUE(r->step(app).has_value());
  Snapshot snap;
  snap.meta = SnapshotMeta{2, 1, Voters({1, 2, 3})};
  Message m = Msg(MessageType::kSnapshot, 1, 2, 1);
  m.snapshot = std::make_shared<const Snapshot>(snap);
  ASSERT_TRUE(r->step(m).has_value());
  EXPECT_EQ(r->log().committed(), 2u);
  EXPECT_EQ(r->log().last_index(), 3u) << "the log after the snapshot is kept";
  EXPECT_FALSE(r->log().unstable_snapshot().has_value());
}

TEST(Replication, RestartFromSnapshotAndLog) {
  Network net(3);
  net.Elect(1);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(net.node(1).Propose("a" + std::to_string(i)).has_value());
  net.Settle();
  net.Compact(2);
  ASSERT_TRUE(net.node(1).Propose("b").has_value());
  net.Settle();
  auto before = net.raft(2).log().committed();
  net.Restart(2);
  EXPECT_EQ(net.raft(2).log().committed(), before);
  EXPECT_EQ(net.raft(2).log().applied(), net.at(2).storage->first_index() - 1);
  EXPECT_EQ(net.raft(2).conf().voters, (std::vector<NodeId>{1, 2, 3}));
}

TEST(Replication, RestartDoesNotReapplyEntriesKeptBelowTheSnapshot) {
  // Storage kept entries 1..3 below its snapshot at 3 (a compaction margin); the application
  // restores from the snapshot, so entry 4 is the first to apply.
  auto s = NewStorage(Voters({1, 2, 3}));
  ASSERT_TRUE(s->append({E(1, 1), E(2, 1), E(3, 1), E(4, 1)}).has_value());
  ASSERT_TRUE(s->create_snapshot(3, Voters({1, 2, 3}), "state@3").has_value());
  s->set_hard_state(HardState{1, kNone, 4});
  auto rn = RawNode::Create(TestConfig(1), s.get());
  ASSERT_TRUE(rn.has_value());
  Ready rd = (*rn)->GetReady();
  ASSERT_EQ(rd.committed_entries.size(), 1u);
  EXPECT_EQ(rd.committed_entries[0].index, 4u);
}

TEST(Replication, UncommittedBytesAreBoundedOnTheLeader) {
  Leader l = MakeLeader([](Config& c) { c.max_uncommitted_entries_size = 100; });
  ASSERT_TRUE(l.r->propose(std::string(60, 'x')).has_value());
  auto r = l.r->propose(std::string(60, 'y'));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kProposalDropped);
}

}  // namespace
}  // namespace raft::testing
