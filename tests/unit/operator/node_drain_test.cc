// The node-drain planner (controller/node_drain.h): the leader leaves a draining node first, and a
// drain that cannot go on says why. Also which Nodes count as being drained.
#include "operator/controller/node_drain.h"

#include <gtest/gtest.h>

#include "operator/controller/rollout.h"  // kMaxLag

namespace stegocluster::controller {
namespace {

using Action = MemberStep::Action;
using members::RaftView;
using Json = nlohmann::json;

const std::vector<std::string> kVoters = {"demo-0", "demo-1", "demo-2"};

// Three ready voters, demo-`leader` leading, demo-i on node `nodes[i]`; `draining` being drained.
NodeDrainInput Three(int leader, std::vector<std::string> nodes, std::set<std::string> draining) {
  NodeDrainInput in{.replicas = 3, .draining = std::move(draining), .disruptions_allowed = 1};
  for (int i = 0; i < 3; ++i) {
    const std::string pod = "demo-" + std::to_string(i);
    in.members.push_back({pod, true, RaftView{i == leader ? "leader" : "follower", 5, 1, 100, kVoters, {}}});
    in.nodes[pod] = nodes[i];
  }
  return in;
}

TEST(NodeDrainTest, NothingHappensWhileNoMemberIsOnADrainingNode) {
  const NodeDrainPlan plan = PlanNodeDrain(Three(0, {"a", "b", "b"}, {"c"}));
  EXPECT_EQ(plan.step.action, Action::kNone);
  EXPECT_EQ(plan.step.reason, "");
  EXPECT_EQ(plan.step.statefulset_replicas, 3);
  EXPECT_EQ(plan.blocked, "");
}

TEST(NodeDrainTest, TheLeaderHandsOverToTheMostCaughtUpVoterOnANodeThatStays) {
  NodeDrainInput in = Three(0, {"a", "a", "b"}, {"a"});
  in.members[2].view->applied = 90;
  const NodeDrainPlan plan = PlanNodeDrain(in);
  EXPECT_EQ(plan.step.action, Action::kTransferLeadership);
  EXPECT_EQ(plan.step.member, "demo-0");
  EXPECT_EQ(plan.step.target, "demo-2") << "demo-1 is more caught up but on the same draining node";
  EXPECT_EQ(plan.step.reason, "NodeDrain");
  EXPECT_NE(plan.step.message.find("demo-0 leads on node a, which is being drained: handing leadership to demo-2 on node b"),
            std::string::npos) << plan.step.message;
  EXPECT_EQ(plan.blocked, "");

  in = Three(0, {"a", "b", "c"}, {"a"});
  in.members[1].view->applied = 95;
  EXPECT_EQ(PlanNodeDrain(in).step.target, "demo-2") << "the most caught up of the candidates";
}

TEST(NodeDrainTest, ALaggingUnreadyOrNonVotingMemberNeverTakesOver) {
  NodeDrainInput in = Three(1, {"b", "a", "c"}, {"a"});
  in.members[0].ready = false;
  in.members[1].view->applied = 500;  // the leader is far ahead of demo-2
  in.members[2].view->applied = 500 - kMaxLag - 1;
  NodeDrainPlan plan = PlanNodeDrain(in);
  EXPECT_EQ(plan.step.action, Action::kNone);
  EXPECT_NE(plan.blocked.find("demo-1 leads on node a, which is being drained, and no ready, caught-up voter runs on "
                              "another node to take over"),
            std::string::npos) << plan.blocked;

  in.members[2].view->applied = 500;
  in.members[1].view->voters = {"demo-0", "demo-1"};  // demo-2 is a learner in the leader's view
  in.members[1].view->learners = {"demo-2"};
  EXPECT_EQ(PlanNodeDrain(in).step.action, Action::kNone);
  in.members[1].view->voters = kVoters;
  in.members[1].view->learners = {};
  EXPECT_EQ(PlanNodeDrain(in).step.target, "demo-2");
}

TEST(NodeDrainTest, NoLeaderToMoveAndNoBudgetLeftIsADrainThatWaits) {
  NodeDrainInput in = Three(0, {"b", "a", "b"}, {"a"});
  EXPECT_EQ(PlanNodeDrain(in).blocked, "") << "demo-1 may be evicted: the budget allows one disruption";
  in.members[2].ready = false;
  in.disruptions_allowed = 0;
  const NodeDrainPlan plan = PlanNodeDrain(in);
  EXPECT_EQ(plan.step.action, Action::kNone);
  EXPECT_EQ(plan.blocked,
            "members on a draining node (demo-1) wait for their eviction: the PodDisruptionBudget allows no "
            "disruption while 2 of 3 members are ready");
  in.disruptions_allowed.reset();  // no PDB: nothing holds the drain back
  EXPECT_EQ(PlanNodeDrain(in).blocked, "");
}

TEST(NodeDrainTest, NoMemberIsMovedWhileNoLeaderIsKnown) {
  NodeDrainInput in = Three(0, {"a", "b", "b"}, {"a"});
  in.members[0].view->role = "follower";
  const NodeDrainPlan plan = PlanNodeDrain(in);
  EXPECT_EQ(plan.step.action, Action::kNone);
  EXPECT_EQ(plan.blocked, "");
}

TEST(NodeDrainTest, CordonedAndDrainTaintedNodesAreBeingDrainedFailedOnesAreNot) {
  const auto node = [](Json spec) { return Json{{"metadata", {{"name", "n"}}}, {"spec", std::move(spec)}}; };
  const auto tainted = [&](const std::string& key, const std::string& effect) {
    return node({{"taints", Json::array({{{"key", key}, {"effect", effect}}})}});
  };
  EXPECT_FALSE(NodeIsDraining(node(Json::object())));
  EXPECT_FALSE(NodeIsDraining(Json::object()));
  EXPECT_TRUE(NodeIsDraining(node({{"unschedulable", true}})));
  EXPECT_FALSE(NodeIsDraining(node({{"unschedulable", false}})));
  EXPECT_TRUE(NodeIsDraining(tainted("node.kubernetes.io/unschedulable", "NoSchedule")));
  EXPECT_TRUE(NodeIsDraining(tainted("ToBeDeletedByClusterAutoscaler", "NoSchedule")));
  EXPECT_TRUE(NodeIsDraining(tainted("karpenter.sh/disrupted", "NoSchedule")));
  EXPECT_TRUE(NodeIsDraining(tainted("example.com/maintenance", "NoExecute")));
  EXPECT_FALSE(NodeIsDraining(tainted("example.com/gpu", "NoSchedule")));
  EXPECT_FALSE(NodeIsDraining(tainted("node.kubernetes.io/not-ready", "NoExecute")));
  EXPECT_FALSE(NodeIsDraining(tainted("node.kubernetes.io/unreachable", "NoExecute")));
}

}  // namespace
}  // namespace stegocluster::controller
