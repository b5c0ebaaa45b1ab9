// ClusterState as a state machine: the same commands in the same order give the same state, a
// snapshot carries every section, and the proposer learns why a committed command was skipped.
#include "worker/cluster/cluster_state.h"

#include <gtest/gtest.h>

#include "worker/cluster/command.h"

namespace cluster {
namespace {

using json = nlohmann::json;

TEST(CommandTest, HeaderAndBlobRoundTrip) {
  const std::string blob("\x89PNG\0\0\x01", 7);
  const std::string encoded = EncodeCommand({{"op", "put"}, {"n", 1}}, blob);
  const auto decoded = DecodeCommand(encoded);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->op(), "put");
  EXPECT_EQ(decoded->header["n"], 1);
  EXPECT_EQ(decoded->blob, blob);
}

TEST(CommandTest, RefusesWhatIsNotACommand) {
  EXPECT_FALSE(DecodeCommand(""));
  EXPECT_FALSE(DecodeCommand("[1,2]"));
  EXPECT_FALSE(DecodeCommand(R"({"op": 3})"));
  EXPECT_FALSE(DecodeCommand(std::string("{\"x\":1}\0blob", 12)));
}

TEST(ClusterStateTest, ConfigPatchesApplyInLogOrderAndKeepEachOthersKeys) {
  ClusterState state(nullptr);
  state.Apply(1, EncodeConfigPatch({{"default_lsb_bits", 3}}));
  state.Apply(2, EncodeConfigPatch({{"max_pixels", 1000}}));
  EXPECT_EQ(state.config().Get("default_lsb_bits"), 3);
  EXPECT_EQ(state.config().Get("max_pixels"), 1000);
  EXPECT_EQ(state.config().version(), 2u);
  EXPECT_EQ(state.OutcomeAt(1), "");
  EXPECT_EQ(state.OutcomeAt(2), "");
}

TEST(ClusterStateTest, TheProposerLearnsWhyACommittedCommandWasSkipped) {
  ClusterState state(nullptr);
  state.Apply(1, EncodeConfigPatch({{"default_lsb_bits", 9}}));
  state.Apply(2, R"({"op":"from_a_newer_version"})");
  EXPECT_NE(state.OutcomeAt(1).find("default_lsb_bits"), std::string::npos) << state.OutcomeAt(1);
  EXPECT_NE(state.OutcomeAt(2), "");
  EXPECT_EQ(state.config().Get("default_lsb_bits"), 1);  // unchanged
  EXPECT_EQ(state.config().version(), 0u);
}

TEST(ClusterStateTest, OutcomesAreBounded) {
  ClusterState state(nullptr);
  const raft::Index n = ClusterState::kOutcomesKept + 10;
  for (raft::Index i = 1; i <= n; ++i) state.Apply(i, "not json");
  EXPECT_EQ(state.OutcomeAt(1), "");  // forgotten
  EXPECT_NE(state.OutcomeAt(n), "");
}

TEST(ClusterStateTest, SnapshotRestoresMembersAndEverySection) {
  std::map<raft::NodeId, MemberInfo> seen;
  ClusterState a(nullptr);
  raft::ConfEntry entry;
  entry.change = {raft::ConfChange::Type::kBootstrap, 7, EncodeMemberInfo({"node1", "10.0.0.1:5001", "10.0.0.1:8081"})};
  entry.next.voters = {7};
  a.ApplyConf(1, entry);
  a.Apply(2, EncodeConfigPatch({{"default_lsb_bits", 2}}));

  ClusterState b([&](const auto& members) { seen = members; });
  b.Restore(2, a.Snapshot());
  EXPECT_EQ(b.members(), a.members());
  EXPECT_EQ(seen, a.members());
  EXPECT_EQ(b.config().config(), a.config().config());
  EXPECT_EQ(b.config().version(), 2u);
  EXPECT_EQ(b.Snapshot(), a.Snapshot());
}

TEST(ClusterStateTest, ADamagedSnapshotIsRefused) {
  ClusterState a(nullptr);
  const std::string snap = a.Snapshot();
  ClusterState b(nullptr);
  EXPECT_THROW(b.Restore(1, snap.substr(0, snap.size() - 1)), std::exception);
}

}  // namespace
}  // namespace cluster
