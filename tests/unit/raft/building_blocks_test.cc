// The parts under the state machine: MemoryStorage, the unstable tail, RaftLog, progress and
// in-flight windows, quorum counting.
#include <gtest/gtest.h>

#include "tests/unit/raft/raft_test_util.h"
#include "worker/raft/log_unstable.h"
#include "worker/raft/quorum.h"

namespace raft::testing {
namespace {

// ----- MemoryStorage -----

TEST(MemoryStorage, AppendTruncatesConflictingSuffix) {
  MemoryStorage s;
  ASSERT_TRUE(s.append({E(1, 1), E(2, 1), E(3, 1)}).has_value());
  ASSERT_TRUE(s.append({E(2, 2)}).has_value());
  EXPECT_EQ(s.last_index(), 2u);
  EXPECT_EQ(*s.term(2), 2u);
  EXPECT_FALSE(s.append({E(5, 2)}).has_value()) << "gaps are refused";
}

TEST(MemoryStorage, CompactKeepsTermOfTheCompactionPointAndRefusesUncoveredEntries) {
  MemoryStorage s;
  ASSERT_TRUE(s.append({E(1, 1), E(2, 1), E(3, 2), E(4, 2)}).has_value());
  EXPECT_FALSE(s.compact(2).has_value()) << "no snapshot covers entries 1..2 yet";
  ASSERT_TRUE(s.create_snapshot(3, Voters({1}), "state").has_value());
  ASSERT_TRUE(s.compact(3).has_value());
  EXPECT_EQ(s.first_index(), 4u);
  EXPECT_EQ(*s.term(3), 2u);
  EXPECT_EQ(s.term(2).error().code, ErrorCode::kCompacted);
  EXPECT_EQ(s.entries(3, 5, UINT64_MAX).error().code, ErrorCode::kCompacted);
  EXPECT_EQ(s.entries(4, 6, UINT64_MAX).error().code, ErrorCode::kUnavailable);
  ASSERT_EQ(s.entries(4, 5, UINT64_MAX)->size(), 1u);
}

TEST(MemoryStorage, EntriesRespectTheSizeLimitButReturnAtLeastOne) {
  MemoryStorage s;
  ASSERT_TRUE(s.append({E(1, 1, std::string(100, 'a')), E(2, 1, "b"), E(3, 1, "c")}).has_value());
  EXPECT_EQ(s.entries(1, 4, 10)->size(), 1u);
  EXPECT_EQ(s.entries(2, 4, 2 * EntrySize(E(2, 1, "b")))->size(), 2u);
}

TEST(MemoryStorage, ApplySnapshotReplacesTheLog) {
  MemoryStorage s;
  ASSERT_TRUE(s.append({E(1, 1), E(2, 1)}).has_value());
  Snapshot snap;
  snap.meta = SnapshotMeta{10, 3, Voters({1, 2})};
  ASSERT_TRUE(s.apply_snapshot(snap).has_value());
  EXPECT_EQ(s.first_index(), 11u);
  EXPECT_EQ(s.last_index(), 10u);
  EXPECT_EQ(*s.term(10), 3u);
  snap.meta.index = 5;
  EXPECT_FALSE(s.apply_snapshot(snap).has_value()) << "older snapshot";
}

// ----- Unstable -----

TEST(Unstable, StableToIgnoresEntriesOverwrittenSinceTheReadyWasTaken) {
  Unstable u(1);
  u.truncate_and_append({E(1, 1), E(2, 1)});
  // A newer leader replaces entry 2 before the caller reports the old one durable.
  u.truncate_and_append({E(2, 2)});
  u.stable_to(2, 1);
  EXPECT_EQ(u.entries().size(), 2u) << "(2, term 1) is no longer ours: nothing is stable";
  u.stable_to(2, 2);
  EXPECT_TRUE(u.entries().empty());
  EXPECT_EQ(u.offset(), 3u);
}

TEST(Unstable, TruncateBeforeOffsetReplacesEverything) {
  Unstable u(5);
  u.truncate_and_append({E(5, 1), E(6, 1)});
  u.truncate_and_append({E(3, 2)});
  EXPECT_EQ(u.offset(), 3u);
  ASSERT_EQ(u.entries().size(), 1u);
  EXPECT_EQ(*u.maybe_last_index(), 3u);
}

// ----- RaftLog -----

TEST(RaftLog, ViewCombinesStorageAndUnstableTail) {
  MemoryStorage s;
  ASSERT_TRUE(s.append({E(1, 1), E(2, 1)}).has_value());
  RaftLog log(&s, UINT64_MAX);
  EXPECT_EQ(log.append({E(3, 2), E(4, 2)}), 4u);
  EXPECT_EQ(log.last_term(), 2u);
  EXPECT_EQ(log.stable_last_index(), 2u);
  auto all = log.slice(1, 5, UINT64_MAX);
  ASSERT_TRUE(all.has_value());
  ASSERT_EQ(all->size(), 4u);
  EXPECT_EQ((*all)[2].term, 2u);
  auto limited = log.slice(1, 5, 2 * EntrySize(E(1, 1)));
  EXPECT_EQ(limited->size(), 2u);
}

TEST(RaftLog, FindConflictByTermReturnsLargestIndexWithTermAtMost) {
  MemoryStorage s;
  ASSERT_TRUE(s.append({E(1, 1), E(2, 1), E(3, 3), E(4, 3), E(5, 4)}).has_value());
  RaftLog log(&s, UINT64_MAX);
  EXPECT_EQ(log.find_conflict_by_term(5, 2), (std::pair<Index, Term>{2, 1}));
  EXPECT_EQ(log.find_conflict_by_term(5, 3), (std::pair<Index, Term>{4, 3}));
  EXPECT_EQ(log.find_conflict_by_term(5, 9), (std::pair<Index, Term>{5, 4}));
  EXPECT_EQ(log.find_conflict_by_term(5, 0), (std::pair<Index, Term>{0, 0}));
}

TEST(RaftLog, CommitNeverMovesBackwards) {
  MemoryStorage s;
  ASSERT_TRUE(s.append({E(1, 1), E(2, 1), E(3, 1)}).has_value());
  RaftLog log(&s, UINT64_MAX);
  log.commit_to(3);
  log.commit_to(1);
  EXPECT_EQ(log.committed(), 3u);
}

TEST(RaftLog, MaybeCommitOnlyForTheGivenTerm) {
  MemoryStorage s;
  ASSERT_TRUE(s.append({E(1, 1), E(2, 2)}).has_value());
  RaftLog log(&s, UINT64_MAX);
  EXPECT_FALSE(log.maybe_commit(1, 2));
  EXPECT_TRUE(log.maybe_commit(2, 2));
}

TEST(RaftLog, CommittedEntriesAreHandedOutInBoundedBatches) {
  MemoryStorage s;
  ASSERT_TRUE(s.append({E(1, 1, "a"), E(2, 1, "b"), E(3, 1, "c")}).has_value());
  RaftLog log(&s, EntrySize(E(1, 1, "a")));
  log.commit_to(3);
  auto first = log.next_committed_entries();
  ASSERT_EQ(first.size(), 1u);
  log.applied_to(1);
  EXPECT_EQ(log.next_committed_entries().front().index, 2u);
}

// ----- Progress and in-flight window -----

TEST(Progress, InflightsFreeUpToTheAcknowledgedIndex) {
  Inflights in(3, 0);
  in.add(5, 1);
  in.add(7, 1);
  in.add(9, 1);
  EXPECT_TRUE(in.full());
  in.free_le(7);
  EXPECT_EQ(in.count(), 1u);
  EXPECT_FALSE(in.full());
}

TEST(Progress, InflightsCanBeBoundedByBytes) {
  Inflights in(100, 10);
  in.add(1, 6);
  EXPECT_FALSE(in.full());
  in.add(2, 6);
  EXPECT_TRUE(in.full());
}

TEST(Progress, ProbeSendsOneMessageAtATime) {
  Progress pr(5, 10, 0);
  EXPECT_FALSE(pr.is_paused());
  pr.sent_entries(2, 6, 0);
  EXPECT_TRUE(pr.is_paused());
  EXPECT_EQ(pr.next, 5u) << "probing does not run ahead";
  EXPECT_TRUE(pr.maybe_update(6));
  EXPECT_FALSE(pr.is_paused());
}

TEST(Progress, StaleRejectionsAreIgnored) {
  Progress pr(10, 10, 0);
  EXPECT_FALSE(pr.maybe_decr_to(5, 3)) << "probe: only the answer to the last probe (9) counts";
  EXPECT_TRUE(pr.maybe_decr_to(9, 3));
  EXPECT_EQ(pr.next, 4u);
  pr.match = 6;
  pr.become_replicate();
  EXPECT_FALSE(pr.maybe_decr_to(6, 0)) << "replicate: index 6 is already matched";
}

TEST(Progress, SnapshotStateResumesAfterTheSnapshot) {
  Progress pr(2, 10, 0);
  pr.become_snapshot(20);
  EXPECT_TRUE(pr.is_paused());
  pr.become_probe();
  EXPECT_EQ(pr.next, 21u);
}

// ----- Quorum -----

TEST(Quorum, CommittedIndexIsTheLargestAcknowledgedByAMajority) {
  std::map<NodeId, Index> acked = {{1, 5}, {2, 3}, {3, 9}};
  auto f = [&](NodeId id) { return acked[id]; };
  EXPECT_EQ(MajorityCommitted({1, 2, 3}, f), 5u);
  acked = {{1, 5}, {2, 3}, {3, 9}, {4, 7}};
  EXPECT_EQ(MajorityCommitted({1, 2, 3, 4}, f), 5u);
  EXPECT_EQ(MajorityCommitted({1}, f), 5u);
  EXPECT_EQ(MajorityCommitted({}, f), 0u);
}

TEST(Quorum, VoteResultIsDecidedOnlyByAMajority) {
  std::map<NodeId, int> v;
  auto f = [&](NodeId id) { return v.count(id) ? v[id] : 0; };
  v = {{1, 1}};
  EXPECT_EQ(MajorityVote({1, 2, 3}, f), VoteResult::kPending);
  v = {{1, 1}, {2, 1}};
  EXPECT_EQ(MajorityVote({1, 2, 3}, f), VoteResult::kWon);
  v = {{1, 1}, {2, -1}, {3, -1}};
  EXPECT_EQ(MajorityVote({1, 2, 3}, f), VoteResult::kLost);
  v = {{1, 1}, {2, 1}};
  EXPECT_EQ(MajorityVote({1, 2, 3, 4}, f), VoteResult::kPending) << "2 of 4 is not a majority";
}

// ----- RawNode protocol -----

TEST(RawNode, NoNewReadyUntilAdvanceAndLeaderSelfAckComesFromAdvance) {
  auto s = NewStorage(Voters({1}));
  auto rn = RawNode::Create(TestConfig(1), s.get());
  ASSERT_TRUE(rn.has_value());
  RawNode& node = **rn;
  node.Campaign();
  ASSERT_EQ(node.raft().role(), Role::kLeader);
  Ready rd = node.GetReady();
  ASSERT_EQ(rd.entries.size(), 1u);
  EXPECT_TRUE(rd.committed_entries.empty()) << "not durable anywhere yet";
  ASSERT_TRUE(node.Propose("x").has_value());
  EXPECT_FALSE(node.HasReady());
  ASSERT_TRUE(s->append(rd.entries).has_value());
  s->set_hard_state(*rd.hard_state);
  node.Advance();
  ASSERT_TRUE(node.HasReady());
  Ready rd2 = node.GetReady();
  EXPECT_EQ(rd2.entries.size(), 1u) << "the proposal made while the first Ready was out";
  ASSERT_EQ(rd2.committed_entries.size(), 1u) << "the no-op, now durable on the only voter";
  ASSERT_TRUE(s->append(rd2.entries).has_value());
  node.Advance();
  Ready rd3 = node.GetReady();
  ASSERT_EQ(rd3.committed_entries.size(), 1u);
  EXPECT_EQ(rd3.committed_entries[0].data, "x");
  EXPECT_FALSE(rd3.must_sync) << "a commit-only change need not be synced";
}

TEST(RawNode, RejectsPeerMessagesThatMustNeverArrive) {
  auto s = NewStorage(Voters({1, 2, 3}));
  auto rn = RawNode::Create(TestConfig(1), s.get());
  Message m = Msg(MessageType::kAppend, 2, 1, 0);  // no term
  EXPECT_EQ((*rn)->Step(m).error().code, ErrorCode::kInvalidMessage);
  m = Msg(MessageType::kSnapshot, 2, 1, 1);  // no snapshot
  EXPECT_EQ((*rn)->Step(m).error().code, ErrorCode::kInvalidMessage);
  m = Msg(MessageType::kAppend, 1, 1, 1);  // from ourselves
  EXPECT_EQ((*rn)->Step(m).error().code, ErrorCode::kInvalidMessage);
}

TEST(RawNode, ConfigValidation) {
  auto s = NewStorage(Voters({1}));
  Config c = TestConfig(0);
  EXPECT_EQ(RawNode::Create(c, s.get()).error().code, ErrorCode::kInvalidConfig);
  c = TestConfig(1, 5, 5);
  EXPECT_EQ(RawNode::Create(c, s.get()).error().code, ErrorCode::kInvalidConfig);
}

}  // namespace
}  // namespace raft::testing
