// ClusterState as a state machine: the same commands in the same order give the same state, a
// snapshot carries every section, and the proposer learns why a committed command was skipped.
#include "worker/cluster/cluster_state.h"

#include <gtest/gtest.h>

#include "tests/support/test_helpers.h"
#include "tests/unit/cluster/heard.h"
#include "worker/cluster/command.h"
#include "worker/cluster/key_store.h"
#include "worker/raft/node/node.h"

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
  const std::string heard1 = Heard(state.ApplyCommand(1, EncodeConfigPatch({{"default_lsb_bits", 3}})));
  const std::string heard2 = Heard(state.ApplyCommand(2, EncodeConfigPatch({{"max_pixels", 1000}})));
  EXPECT_EQ(state.config().view().default_lsb_bits, 3);
  EXPECT_EQ(state.config().view().max_pixels, 1000u);
  EXPECT_EQ(state.config().version(), 2u);
  EXPECT_EQ(heard1, "");
  EXPECT_EQ(heard2, "");
}

TEST(ClusterStateTest, CorsOriginsIsAListOfOriginsStoredNormalized) {
  EXPECT_EQ(DefaultConfig()["cors_origins"], json::array()) << "no cross-origin page by default";
  ClusterState state(nullptr);
  const std::string heard1 = Heard(state.ApplyCommand(1, EncodeConfigPatch({{"cors_origins", json::array({"HTTP://GUI.example:8090/", "*", "http://gui.example:8090"})}})));
  EXPECT_EQ(heard1, "");
  EXPECT_EQ(state.config().view().cors_origins, (std::vector<std::string>{"http://gui.example:8090", "*"}));
  EXPECT_EQ(state.config().view().default_lsb_bits, 1) << "the integer keys are untouched";
  state.Apply(2, EncodeConfigPatch({{"cors_origins", json::array()}}));
  EXPECT_TRUE(state.config().view().cors_origins.empty());
}

TEST(ClusterStateTest, ABadCorsOriginsValueIsRefusedNamingTheKey) {
  const nlohmann::json current = DefaultConfig();
  for (const json& bad : {json("http://a.example"), json::array({1}), json::array({"ftp://a"}),
                          json::array({"http://a.example/path"}), json(std::vector<std::string>(65, "http://a.example"))}) {
    const auto next = ValidateConfig(current, {{"cors_origins", bad}});
    ASSERT_FALSE(next) << bad;
    EXPECT_NE(next.error().find("cors_origins"), std::string::npos) << next.error();
  }
  const auto integer_for_list = ValidateConfig(current, {{"default_lsb_bits", json::array({1})}});
  ASSERT_FALSE(integer_for_list);
  EXPECT_NE(integer_for_list.error().find("default_lsb_bits must be an integer"), std::string::npos);
}

TEST(ClusterStateTest, TheProposerLearnsWhyACommittedCommandWasSkipped) {
  ClusterState state(nullptr);
  const std::string heard1 = Heard(state.ApplyCommand(1, EncodeConfigPatch({{"default_lsb_bits", 9}})));
  const std::string heard2 = Heard(state.ApplyCommand(2, R"({"op":"from_a_newer_version"})"));
  EXPECT_NE(heard1.find("default_lsb_bits"), std::string::npos) << heard1;
  EXPECT_NE(heard2, "");
  EXPECT_EQ(state.config().view().default_lsb_bits, 1);  // unchanged
  EXPECT_EQ(state.config().version(), 0u);
}

TEST(ClusterStateTest, ApplyAnswersTheOutcomeForTheRaftNodeToHandBack) {
  ClusterState state(nullptr);
  // What raft::Node hands to the proposal's future, read as ClusterMember::Commit reads it.
  const raft::ApplyResponse skipped = state.Apply(1, "not json");
  ASSERT_EQ(skipped.type(), typeid(Outcome));
  EXPECT_EQ(std::any_cast<Outcome>(skipped).error().code, ErrorCode::kRefused);
  const raft::ApplyResponse applied = state.Apply(2, EncodeConfigPatch({{"max_pixels", 1000}}));
  EXPECT_TRUE(std::any_cast<Outcome>(applied));
  EXPECT_EQ(state.config().view().max_pixels, 1000u);
}

// A write proposed twice under one request key (a member's retry after a leader change, or a
// client's with an Idempotency-Key) takes effect once, and the second entry answers the first's
// outcome.
TEST(RequestLogTest, AKeyedWriteAppliedTwiceTakesEffectOnceAndAnswersAlike) {
  ClusterState state(nullptr);
  const RequestKey once{"c:k1", "digest-1"};
  const KeyMaterial material = NewKeyMaterial();
  const std::string create = WithRequestKey(
      EncodeCreateKey({material.id, "ci", KeyRole::kUser, "2026-01-01T00:00:00Z"}, HashKeySecret(material.secret)), once);
  EXPECT_EQ(Heard(state.ApplyCommand(1, create)), "");
  EXPECT_EQ(Heard(state.ApplyCommand(2, create)), "") << "applied again, the name would be taken";
  EXPECT_EQ(state.keys().List().size(), 1u);
  // Where the write took effect: what the proposer answers, whichever entry it heard back from.
  EXPECT_EQ(state.requests().FirstIndex(once), 1u);
  EXPECT_EQ(state.requests().FirstIndex({"c:k1", "another request"}), 0u);

  // A write that was refused is refused again on a retry, with the same reason, and only once.
  const RequestKey refused{"c:k2", "digest-2"};
  const std::string bad = WithRequestKey(EncodeConfigPatch({{"default_lsb_bits", 9}}), refused);
  const std::string first = Heard(state.ApplyCommand(3, bad));
  EXPECT_NE(first, "");
  EXPECT_EQ(Heard(state.ApplyCommand(4, bad)), first);

  // A config patch re-proposed after a later write must not undo it.
  const std::string patch = WithRequestKey(EncodeConfigPatch({{"max_pixels", 5000}}), {"c:k3", "d3"});
  EXPECT_EQ(Heard(state.ApplyCommand(5, patch)), "");
  EXPECT_EQ(Heard(state.ApplyCommand(6, EncodeConfigPatch({{"max_pixels", 6000}}))), "");
  EXPECT_EQ(Heard(state.ApplyCommand(7, patch)), "");
  EXPECT_EQ(state.config().view().max_pixels, 6000u);
  EXPECT_EQ(state.config().version(), 6u) << "the replay wrote nothing";
}

TEST(RequestLogTest, AKeyReusedForAnotherRequestIsRefusedAndNothingApplied) {
  ClusterState state(nullptr);
  EXPECT_EQ(Heard(state.ApplyCommand(1, WithRequestKey(EncodeConfigPatch({{"max_pixels", 5000}}), {"c:k", "a"}))), "");
  const Outcome reused = state.ApplyCommand(2, WithRequestKey(EncodeConfigPatch({{"max_pixels", 7000}}), {"c:k", "b"}));
  ASSERT_FALSE(reused);
  EXPECT_EQ(reused.error().code, ErrorCode::kKeyReused);
  EXPECT_EQ(state.config().view().max_pixels, 5000u);
}

TEST(RequestLogTest, KeysSurviveASnapshotAndTheOldestAreForgottenBeyondTheCapacity) {
  ClusterState a(nullptr);
  const auto keyed = [](std::size_t n) {
    return WithRequestKey(EncodeConfigPatch({{"max_pixels", 1000 + n}}), {"m:" + std::to_string(n), ""});
  };
  for (std::size_t n = 0; n < RequestLog::kCapacity + 5; ++n) a.Apply(n + 1, keyed(n));
  EXPECT_EQ(a.requests().size(), RequestLog::kCapacity);
  ClusterState b(nullptr);
  ASSERT_TRUE(b.Restore(RequestLog::kCapacity + 5, a.Snapshot()));
  EXPECT_EQ(b.Snapshot(), a.Snapshot());
  EXPECT_EQ(b.requests().FirstIndex({"m:" + std::to_string(RequestLog::kCapacity + 4), ""}), RequestLog::kCapacity + 5);
  const std::uint64_t last = b.config().view().max_pixels;
  // Still remembered on the restored member: a replay of the newest changes nothing.
  EXPECT_EQ(Heard(b.ApplyCommand(RequestLog::kCapacity + 6, keyed(RequestLog::kCapacity + 4))), "");
  EXPECT_EQ(Heard(b.ApplyCommand(RequestLog::kCapacity + 7, keyed(RequestLog::kCapacity))), "");
  EXPECT_EQ(b.config().view().max_pixels, last);
  // Forgotten: the oldest five keys are applied as new writes.
  EXPECT_EQ(Heard(b.ApplyCommand(RequestLog::kCapacity + 8, keyed(0))), "");
  EXPECT_EQ(b.config().view().max_pixels, 1000u);
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
  ASSERT_TRUE(b.Restore(2, a.Snapshot()));
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
  const auto cut = b.Restore(1, snap.substr(0, snap.size() - 1));
  ASSERT_FALSE(cut);
  EXPECT_EQ(cut.error().code, raft::ErrorCode::kCorruptState);
  EXPECT_NE(cut.error().message.find("damaged"), std::string::npos) << cut.error().message;
}

// A member whose stored snapshot it cannot read must not start (nor throw on the node's thread):
// raft::Node::Start fails with the state machine's message, which the member reports and exits on.
TEST(ClusterStateTest, ANodeRefusesToStartFromASnapshotItsStateCannotRead) {
  const auto dir = testsupport::FreshScratchDirectory("cluster-state", "damaged-snapshot");
  {
    auto storage = raft::RocksStorage::Open(dir.string());
    ASSERT_TRUE(storage) << storage.error().message;
    const raft::BootstrapState boot = raft::Bootstrap(raft::ConfState{{1}, {}});
    raft::Ready ready;
    ready.entries = boot.entries;
    ready.hard_state = boot.hard_state;
    ready.must_sync = true;
    ASSERT_TRUE((*storage)->Persist(ready));
    ASSERT_TRUE((*storage)->create_snapshot(1, raft::ConfState{{1}, {}}, "not a cluster state snapshot"));
  }
  struct NoPeers final : raft::Transport {
    void Send(std::vector<raft::Message>) override {}
  } transport;
  ClusterState state(nullptr);
  auto storage = raft::RocksStorage::Open(dir.string());
  ASSERT_TRUE(storage) << storage.error().message;
  raft::NodeOptions options;
  options.raft.id = 1;
  auto node = raft::Node::Start(options, std::move(*storage), state, transport);
  ASSERT_FALSE(node);
  EXPECT_EQ(node.error().code, raft::ErrorCode::kCorruptState);
  EXPECT_NE(node.error().message.find("snapshot at 1 is damaged"), std::string::npos) << node.error().message;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cluster
