// The scaling planner (controller/scaling.h), rule by rule: what one pass does, from what the
// members say.
#include "operator/controller/scaling.h"

#include <gtest/gtest.h>

namespace stegocluster::controller {
namespace {

using Action = MemberStep::Action;
using members::Member;
using members::RaftView;

// A member as its /raft/status describes it; the leader's view carries the configuration.
Member M(const std::string& pod, const std::string& role, std::uint64_t applied, std::vector<std::string> voters,
         std::vector<std::string> learners = {}, bool ready = true) {
  return {pod, ready, RaftView{role, 4, 1, applied, std::move(voters), std::move(learners)}};
}

std::vector<std::string> Pods(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back("demo-" + std::to_string(i));
  return out;
}

std::vector<Member> Cluster(int n, int leader, std::vector<std::string> voters = {}) {
  if (voters.empty()) voters = Pods(n);
  std::vector<Member> out;
  for (int i = 0; i < n; ++i) out.push_back(M("demo-" + std::to_string(i), i == leader ? "leader" : "follower", 100, voters));
  return out;
}

TEST(ScalingTest, ANewClusterStartsWithEveryPodAtOnce) {
  const MemberStep s = PlanScale("demo", 3, std::nullopt, {});
  EXPECT_EQ(s.statefulset_replicas, 3);
  EXPECT_EQ(s.action, Action::kNone);
  EXPECT_EQ(s.reason, "");
}

TEST(ScalingTest, AConvergedClusterKeepsItsSize) {
  const MemberStep s = PlanScale("demo", 3, 3, Cluster(3, 0));
  EXPECT_EQ(s.statefulset_replicas, 3);
  EXPECT_EQ(s.action, Action::kNone);
  EXPECT_EQ(s.reason, "");
}

TEST(ScalingTest, ScaleOutAddsOneMemberAtATimeOnceEveryMemberIsAReadyVoter) {
  EXPECT_EQ(PlanScale("demo", 5, 3, Cluster(3, 0)).statefulset_replicas, 4);
  // The fourth has joined but is still a learner: wait for its promotion.
  std::vector<Member> learning = Cluster(4, 0, Pods(3));
  learning[0].view->learners = {"demo-3"};
  const MemberStep waiting = PlanScale("demo", 5, 4, learning);
  EXPECT_EQ(waiting.statefulset_replicas, 4);
  EXPECT_EQ(waiting.reason, "ScalingUp");
  EXPECT_NE(waiting.message.find("demo-3 to be promoted"), std::string::npos) << waiting.message;
  std::vector<Member> unready = Cluster(4, 0);
  unready[3].ready = false;
  EXPECT_EQ(PlanScale("demo", 5, 4, unready).statefulset_replicas, 4);
  EXPECT_EQ(PlanScale("demo", 5, 4, Cluster(3, 0)).statefulset_replicas, 4) << "a pod not created yet";
  EXPECT_EQ(PlanScale("demo", 5, 4, Cluster(4, 0)).statefulset_replicas, 5);
}

TEST(ScalingTest, ScaleInDrainsThenRemovesTheHighestOrdinalThenShrinksOnceAQuorumAppliedIt) {
  // 5 -> 3: demo-4 goes first.
  std::vector<Member> five = Cluster(5, 0);
  MemberStep s = PlanScale("demo", 3, 5, five);
  EXPECT_EQ(s.action, Action::kDrainMember);
  EXPECT_EQ(s.member, "demo-4");
  EXPECT_EQ(s.statefulset_replicas, 5);
  five[4].ready = false;  // drained
  s = PlanScale("demo", 3, 5, five);
  EXPECT_EQ(s.action, Action::kRemoveMember);
  EXPECT_EQ(s.member, "demo-4");
  EXPECT_EQ(s.target, "demo-0") << "asked of the leader";
  EXPECT_EQ(s.statefulset_replicas, 5) << "the pod stays until the removal is applied";
  // The leader applied the removal; only it so far: not yet a quorum of the four that stay.
  five[0].view->voters = Pods(4);
  s = PlanScale("demo", 3, 5, five);
  EXPECT_EQ(s.action, Action::kNone);
  EXPECT_EQ(s.reason, "RemovingMember");
  EXPECT_EQ(s.statefulset_replicas, 5);
  for (int i = 1; i < 3; ++i) five[i].view->voters = Pods(4);  // three of four: a quorum
  s = PlanScale("demo", 3, 5, five);
  EXPECT_EQ(s.statefulset_replicas, 4);
  EXPECT_EQ(s.reason, "ScalingDown");
}

TEST(ScalingTest, ALeaderThatMustGoHandsOverToTheMostCaughtUpReadyVoterThatStays) {
  std::vector<Member> five = Cluster(5, 4);
  five[0].view->applied = 90;
  five[1].view->applied = 97;
  five[2].view->applied = 99;
  five[3].view->applied = 95;
  const MemberStep s = PlanScale("demo", 4, 5, five);
  EXPECT_EQ(s.action, Action::kTransferLeadership);
  EXPECT_EQ(s.member, "demo-4");
  EXPECT_EQ(s.target, "demo-2");
  five[2].ready = false;  // three of the four that stay are still ready: a quorum
  EXPECT_EQ(PlanScale("demo", 4, 5, five).target, "demo-1") << "never to a member that is not ready";
}

// "demo-10" sorts before "demo-2" as text: the member that goes is picked by its number.
TEST(ScalingTest, TheMemberThatGoesIsPickedByOrdinalNotByName) {
  std::vector<Member> eleven = Cluster(11, 0);
  const MemberStep s = PlanScale("demo", 9, 11, eleven);
  EXPECT_EQ(s.member, "demo-10");
}

TEST(ScalingTest, ScaleInIsBlockedWithoutALeaderOrAReadyQuorumOfTheVotersThatStay) {
  std::vector<Member> leaderless = Cluster(3, -1);
  MemberStep s = PlanScale("demo", 1, 3, leaderless);
  EXPECT_TRUE(s.blocked());
  EXPECT_EQ(s.action, Action::kNone);
  EXPECT_EQ(s.statefulset_replicas, 3);
  // 5 -> 4: of the four that stay, only two are ready; a quorum of four is three.
  std::vector<Member> five = Cluster(5, 0);
  five[1].ready = five[2].ready = false;
  s = PlanScale("demo", 4, 5, five);
  EXPECT_TRUE(s.blocked());
  EXPECT_NE(s.message.find("2 of the 4 voters that stay are ready, a quorum is 3"), std::string::npos) << s.message;
  EXPECT_EQ(s.statefulset_replicas, 5);
}

// An operator that crashed mid-way plans from what the members say now: a removal already applied
// everywhere goes straight to the shrink, and a shrunk StatefulSet is simply the new size.
TEST(ScalingTest, EveryStepIsPlannedAgainFromTheMembersAfterACrash) {
  std::vector<Member> removed = Cluster(4, 0, Pods(3));
  removed[3].ready = false;
  EXPECT_EQ(PlanScale("demo", 3, 4, removed).statefulset_replicas, 3);
  EXPECT_EQ(PlanScale("demo", 3, 3, Cluster(3, 0)).statefulset_replicas, 3);
}

}  // namespace
}  // namespace stegocluster::controller
