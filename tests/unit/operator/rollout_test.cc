// The rollout planner (controller/rollout.h), rule by rule: who restarts next, and when.
#include "operator/controller/rollout.h"

#include <gtest/gtest.h>

namespace stegocluster::controller {
namespace {

using Action = MemberStep::Action;
using members::Member;
using members::RaftView;

const std::vector<std::string> kVoters = {"demo-0", "demo-1", "demo-2"};

// Three members, demo-`leader` leading; every pod at revision "old" unless listed in `updated`.
RolloutInput Three(int leader, std::vector<std::string> updated = {}) {
  RolloutInput in{.update_revision = "new", .replicas = 3};
  for (int i = 0; i < 3; ++i) {
    const std::string pod = "demo-" + std::to_string(i);
    in.members.push_back({pod, true, RaftView{i == leader ? "leader" : "follower", 5, 1, 100, kVoters, {}}});
    in.revisions[pod] = std::find(updated.begin(), updated.end(), pod) != updated.end() ? "new" : "old";
  }
  in.labelled_leader = "demo-" + std::to_string(leader);
  return in;
}

TEST(RolloutTest, NothingRestartsWhenEveryPodRunsTheCurrentTemplate) {
  const MemberStep s = PlanRollout(Three(0, kVoters));
  EXPECT_EQ(s.action, Action::kNone);
  EXPECT_EQ(s.reason, "");
  EXPECT_EQ(s.statefulset_replicas, 3);
}

TEST(RolloutTest, FollowersGoFirstFromTheHighestOrdinalEachDrainedThenDeleted) {
  RolloutInput in = Three(0);
  MemberStep s = PlanRollout(in);
  EXPECT_EQ(s.action, Action::kDrainMember);
  EXPECT_EQ(s.member, "demo-2");
  EXPECT_EQ(s.reason, "RollingRestart");
  in.members[2].ready = false;  // drained
  s = PlanRollout(in);
  EXPECT_EQ(s.action, Action::kDeletePod);
  EXPECT_EQ(s.member, "demo-2");
  // Recreated, updated, but not ready yet: wait for it, then demo-1.
  in.revisions["demo-2"] = "new";
  s = PlanRollout(in);
  EXPECT_EQ(s.action, Action::kNone);
  EXPECT_EQ(s.reason, "RollingRestart");
  EXPECT_NE(s.message.find("waiting for demo-2 to be ready"), std::string::npos) << s.message;
  in.members[2].ready = true;
  in.members[0].view->applied = in.members[1].view->applied = 500;
  in.members[2].view->applied = 10;  // ready, still catching up: more than kMaxLag behind
  EXPECT_EQ(PlanRollout(in).action, Action::kNone);
  in.members[2].view->applied = 500;
  s = PlanRollout(in);
  EXPECT_EQ(s.action, Action::kDrainMember);
  EXPECT_EQ(s.member, "demo-1");
}

TEST(RolloutTest, TheLeaderGoesLastAfterHandingOverToAnUpdatedFollower) {
  RolloutInput in = Three(1, {"demo-0", "demo-2"});
  in.members[0].view->applied = 99;
  MemberStep s = PlanRollout(in);
  EXPECT_EQ(s.action, Action::kTransferLeadership);
  EXPECT_EQ(s.member, "demo-1");
  EXPECT_EQ(s.target, "demo-2") << "the most caught-up updated voter";
  // demo-2 leads now; demo-1 is a stale follower: drained, then deleted once the label has moved.
  in.members[1].view->role = "follower";
  in.members[2].view->role = "leader";
  s = PlanRollout(in);
  EXPECT_EQ(s.action, Action::kDrainMember);
  EXPECT_EQ(s.member, "demo-1");
  in.members[1].ready = false;
  s = PlanRollout(in);
  EXPECT_EQ(s.action, Action::kNone) << "the leader label still names demo-1";
  in.labelled_leader = "demo-2";
  EXPECT_EQ(PlanRollout(in).action, Action::kDeletePod);
}

TEST(RolloutTest, ALearnerRestartsBeforeAnyVoter) {
  RolloutInput in = Three(0);
  in.members.push_back({"demo-3", true, RaftView{"follower", 5, 1, 100, kVoters, {}}});
  in.revisions["demo-3"] = "old";
  in.members[0].view->learners = {"demo-3"};
  in.replicas = 4;
  // demo-3 is the highest ordinal anyway: make the learner demo-1 instead.
  in.members[0].view->learners = {"demo-1"};
  in.members[0].view->voters = {"demo-0", "demo-2", "demo-3"};
  EXPECT_EQ(PlanRollout(in).member, "demo-1");
}

TEST(RolloutTest, ARolloutThatCannotGoOnSaysWhyInsteadOfLooping) {
  RolloutInput leaderless = Three(0);
  leaderless.members[0].view->role = "follower";
  EXPECT_EQ(PlanRollout(leaderless).reason, "RolloutBlocked");
  // Two stale members are down: one may restart (it serves no one), but not while the other is
  // also out: nothing a restart could fix.
  RolloutInput broken = Three(0);
  broken.members[1].ready = false;
  broken.members[2].ready = false;
  const MemberStep s = PlanRollout(broken);
  EXPECT_EQ(s.reason, "RolloutBlocked");
  EXPECT_TRUE(s.blocked());
  EXPECT_EQ(s.action, Action::kNone);
  EXPECT_NE(s.message.find("demo-1"), std::string::npos) << s.message;
}

TEST(RolloutTest, AStaleMemberOutOfServiceRestartsFirst) {
  RolloutInput in = Three(0);
  in.members[1].ready = false;  // down on the old template, say a flag it cannot start with
  const MemberStep s = PlanRollout(in);
  EXPECT_EQ(s.action, Action::kDeletePod);
  EXPECT_EQ(s.member, "demo-1") << "before demo-2, the highest ordinal";
}

// The drained member won an election before its pod was deleted (install_e2e saw it on a loaded
// machine: the leader lost its quorum's heartbeats for a moment). Unready, it leads out of every
// Service; the rollout must not wait for it to be ready, which a drained member never is again.
TEST(RolloutTest, ADrainedMemberThatWonAnElectionHandsLeadershipOverAndRestarts) {
  RolloutInput in = Three(2);
  ASSERT_EQ(PlanRollout(in).member, "demo-1");  // drained next
  in.members[1].ready = false;
  in.members[1].view->role = "leader";
  in.members[2].view->role = "follower";
  in.labelled_leader = "demo-1";
  MemberStep s = PlanRollout(in);
  EXPECT_EQ(s.action, Action::kTransferLeadership);
  EXPECT_EQ(s.member, "demo-1");
  EXPECT_NE(s.target, "demo-1");
  in.members[1].view->role = "follower";
  in.members[0].view->role = "leader";
  s = PlanRollout(in);
  EXPECT_EQ(s.action, Action::kNone) << "the leader label still names demo-1";
  in.labelled_leader = "demo-0";
  s = PlanRollout(in);
  EXPECT_EQ(s.action, Action::kDeletePod);
  EXPECT_EQ(s.member, "demo-1");
}

TEST(RolloutTest, APodMissingWhileRecreatedIsWaitedFor) {
  RolloutInput in = Three(0, {"demo-2"});
  in.members.pop_back();
  const MemberStep s = PlanRollout(in);
  EXPECT_EQ(s.action, Action::kNone);
  EXPECT_EQ(s.reason, "RollingRestart");
}

}  // namespace
}  // namespace stegocluster::controller
