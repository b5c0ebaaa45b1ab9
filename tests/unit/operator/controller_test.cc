// The controller's pure decisions: the status and its conditions, the leader label's changes, when
// a live object already holds what would be applied, and the operator's flags.
#include <gtest/gtest.h>

#include "operator/app/options.h"
#include "operator/controller/drift.h"
#include "operator/controller/roles.h"
#include "operator/controller/scaling.h"
#include "operator/controller/status.h"

namespace stegocluster::controller {
namespace {

using members::Member;
using members::RaftView;

const kube::WallTime kT0 = *kube::ParseTime("2026-12-03T10:00:00Z");
const kube::WallTime kT1 = *kube::ParseTime("2026-12-03T10:05:00Z");

Member Up(std::string pod, std::string role, std::uint64_t term, bool ready = true) {
  return {std::move(pod), ready, RaftView{std::move(role), term, 7, 40}};
}

Json Sts(int updated) { return {{"status", {{"updatedReplicas", updated}}}}; }

Observation Healthy(int generation = 2) {
  return {.generation = generation,
          .desired_replicas = 3,
          .selector = "stegocluster.io/cluster=demo",
          .statefulset = Sts(3),
          .members = {Up("demo-0", "follower", 5), Up("demo-1", "leader", 5), Up("demo-2", "follower", 5)}};
}

std::string Reason(const StegoClusterStatus& s, const std::string& type) {
  const Condition* c = FindCondition(s, type);
  return c ? c->status + "/" + c->reason : "absent";
}

TEST(StatusTest, AHealthyClusterIsReadyWithItsLeaderAndTerm) {
  const auto s = BuildStatus(Healthy(), {}, kT0);
  EXPECT_EQ(s.leader, "demo-1");
  EXPECT_EQ(s.term, 5u);
  EXPECT_EQ(s.replicas, 3);
  EXPECT_EQ(s.ready_replicas, 3);
  EXPECT_EQ(s.updated_replicas, 3);
  EXPECT_EQ(s.observed_generation, 2);
  EXPECT_EQ(s.selector, "stegocluster.io/cluster=demo");
  EXPECT_EQ(s.last_leader_transition_time, "2026-12-03T10:00:00Z");
  EXPECT_EQ(Reason(s, "Ready"), "True/Ready");
  EXPECT_EQ(Reason(s, "Available"), "True/QuorumReady");
  EXPECT_EQ(Reason(s, "Progressing"), "False/Converged");
  EXPECT_EQ(Reason(s, "Degraded"), "False/AsExpected");
  EXPECT_EQ(Reason(s, "LeaderElected"), "True/LeaderElected");
  for (const Condition& c : s.conditions) EXPECT_EQ(c.observed_generation, 2) << c.type;
  ASSERT_EQ(s.members.size(), 3u);
  EXPECT_EQ(s.members[1].role, "Leader");
}

TEST(StatusTest, AnUnchangedClusterGivesTheSameStatusLater) {
  // Equal status → no write: transition times must not move when nothing changed.
  const auto first = BuildStatus(Healthy(), {}, kT0);
  EXPECT_EQ(BuildStatus(Healthy(), first, kT1), first);
}

TEST(StatusTest, ANewLeaderMovesTheTransitionTimeAndOnlyChangedConditions) {
  const auto before = BuildStatus(Healthy(), {}, kT0);
  Observation o = Healthy();
  o.members = {Up("demo-0", "leader", 6), Up("demo-1", "follower", 6, false), Up("demo-2", "follower", 6)};
  const auto after = BuildStatus(o, before, kT1);
  EXPECT_EQ(after.leader, "demo-0");
  EXPECT_EQ(after.term, 6u);
  EXPECT_EQ(after.last_leader_transition_time, "2026-12-03T10:05:00Z");
  EXPECT_EQ(Reason(after, "Available"), "True/QuorumReady");
  EXPECT_EQ(FindCondition(after, "Available")->last_transition_time, "2026-12-03T10:00:00Z");
  EXPECT_EQ(Reason(after, "Degraded"), "True/MembersNotReady");
  EXPECT_EQ(FindCondition(after, "Degraded")->message, "not ready: demo-1");
  EXPECT_EQ(FindCondition(after, "Degraded")->last_transition_time, "2026-12-03T10:05:00Z");
  EXPECT_EQ(Reason(after, "Ready"), "False/MembersNotReady");
}

TEST(StatusTest, DuringAnElectionNoOneLeadsAndTheClusterIsUnavailable) {
  const auto before = BuildStatus(Healthy(), {}, kT0);
  Observation o = Healthy();
  o.members = {Up("demo-0", "candidate", 6), Member{"demo-1", false, std::nullopt}, Up("demo-2", "follower", 5)};
  const auto s = BuildStatus(o, before, kT1);
  EXPECT_EQ(s.leader, "");
  EXPECT_EQ(s.term, 6u);
  EXPECT_EQ(s.last_leader_transition_time, "2026-12-03T10:00:00Z");  // the last leader's arrival
  EXPECT_EQ(Reason(s, "LeaderElected"), "False/NoLeader");
  EXPECT_EQ(FindCondition(s, "LeaderElected")->message, "no member leads term 6");
  EXPECT_EQ(Reason(s, "Available"), "False/NoLeader");
  EXPECT_EQ(Reason(s, "Ready"), "False/NoLeader");
  // It led before: this is not a cluster being created.
  EXPECT_NE(Reason(s, "Progressing"), "True/Creating");
  EXPECT_EQ(s.members[1].role, "Unknown");
}

TEST(StatusTest, ANewClusterIsCreatingUntilItFirstHasALeader) {
  Observation o = Healthy(1);
  o.members = {Up("demo-0", "follower", 0, false), Member{"demo-1", false, std::nullopt}};
  const auto s = BuildStatus(o, {}, kT0);
  EXPECT_EQ(Reason(s, "Progressing"), "True/Creating");
  EXPECT_EQ(Reason(s, "LeaderElected"), "False/NoLeader");
  EXPECT_EQ(FindCondition(s, "LeaderElected")->message, "no member answers yet");
}

TEST(StatusTest, FewerMembersReadyThanAQuorumIsQuorumLostWithOrWithoutALeader) {
  Observation o = Healthy();
  o.members = {Up("demo-0", "leader", 5), Up("demo-1", "follower", 5, false), Up("demo-2", "follower", 5, false)};
  const auto s = BuildStatus(o, {}, kT0);
  EXPECT_EQ(Reason(s, "LeaderElected"), "True/LeaderElected");
  EXPECT_EQ(Reason(s, "Available"), "False/QuorumLost");
  EXPECT_EQ(FindCondition(s, "Available")->message,
            "1 members ready, a quorum is 2; no member is removed or restarted until a quorum is back");
  // The leader has stepped down by check-quorum: still QuorumLost, not an election.
  o.members[0].view->role = "follower";
  EXPECT_EQ(Reason(BuildStatus(o, s, kT1), "Available"), "False/QuorumLost");
}

TEST(StatusTest, ScalingIsProgressingAndSaysWhichWayAndABlockedScaleInIsNot) {
  Observation up = Healthy();
  up.desired_replicas = 5;
  up.step = PlanScale("demo", 5, 3, up.members);
  EXPECT_EQ(Reason(BuildStatus(up, {}, kT0), "Progressing"), "True/ScalingUp");
  EXPECT_EQ(Reason(BuildStatus(up, {}, kT0), "Ready"), "False/ScalingUp");
  Observation down = Healthy();
  down.desired_replicas = 1;
  down.step = {.statefulset_replicas = 3, .reason = "RemovingMember", .message = "removing demo-2"};
  EXPECT_EQ(Reason(BuildStatus(down, {}, kT0), "Progressing"), "True/RemovingMember");
  down.step = {.statefulset_replicas = 3, .reason = "ScaleInBlocked", .message = "no leader is known"};
  const auto blocked = BuildStatus(down, {}, kT0);
  EXPECT_EQ(Reason(blocked, "Progressing"), "False/ScaleInBlocked") << "stuck, and says why, instead of looping";
  EXPECT_EQ(FindCondition(blocked, "Progressing")->message, "no leader is known");
  Observation stale = Healthy();
  stale.statefulset = Sts(2);  // one pod still runs the old template
  EXPECT_EQ(Reason(BuildStatus(stale, {}, kT0), "Progressing"), "True/WaitingForMembers");
}

TEST(StatusTest, ALeadershipTransferNamesItsTargetUntilItIsDone) {
  Observation o = Healthy();
  o.step = {.action = MemberStep::Action::kTransferLeadership, .statefulset_replicas = 3, .member = "demo-1",
            .target = "demo-2", .reason = "RollingRestart", .message = "handing leadership from demo-1 to demo-2"};
  const StegoClusterStatus during = BuildStatus(o, {}, kT0);
  EXPECT_EQ(during.target_leader, "demo-2");
  EXPECT_EQ(StatusToJson(during)["targetLeader"], "demo-2");
  EXPECT_EQ(StatusFromJson(StatusToJson(during)), during);
  o.step = {.action = MemberStep::Action::kDrainMember, .statefulset_replicas = 3, .member = "demo-1",
            .reason = "RollingRestart", .message = "draining demo-1"};
  const StegoClusterStatus after = BuildStatus(o, during, kT0);
  EXPECT_EQ(after.target_leader, "");
  EXPECT_FALSE(StatusToJson(after).contains("targetLeader"));
}

TEST(StatusTest, AnEvenSizeIsReportedAsDegradedButStaysReady) {
  Observation o = Healthy();
  o.desired_replicas = 4;
  o.statefulset = Sts(4);
  o.members.push_back(Up("demo-3", "follower", 5));
  const auto s = BuildStatus(o, {}, kT0);
  EXPECT_EQ(Reason(s, "Degraded"), "True/EvenReplicas");
  EXPECT_EQ(Reason(s, "Ready"), "True/Ready") << "allowed: only reported";
}

TEST(StatusTest, ABlockedOperatorSaysWhyInProgressingDegradedAndReady) {
  Observation o = Healthy();
  o.blocker = {"AuthSecretMissing", "Secret mine (spec.auth.secretName) does not exist"};
  const auto s = BuildStatus(o, {}, kT0);
  EXPECT_EQ(Reason(s, "Progressing"), "False/AuthSecretMissing");
  EXPECT_EQ(Reason(s, "Degraded"), "True/AuthSecretMissing");
  EXPECT_EQ(Reason(s, "Ready"), "False/AuthSecretMissing");
  EXPECT_EQ(FindCondition(s, "Ready")->message, "Secret mine (spec.auth.secretName) does not exist");
}

TEST(StatusTest, PausedIsNotReadyAndSaysSo) {
  Observation o = Healthy();
  o.paused = true;
  const auto s = BuildStatus(o, {}, kT0);
  EXPECT_EQ(Reason(s, "Progressing"), "False/Paused");
  EXPECT_EQ(Reason(s, "Ready"), "False/Paused");
  EXPECT_EQ(Reason(s, "Available"), "True/QuorumReady");  // the members keep serving
}

Json Pod(const std::string& name, const std::string& role = "") {
  Json pod = {{"metadata", {{"name", name}, {"labels", {{"stegocluster.io/cluster", "demo"}}}}}};
  if (!role.empty()) pod["metadata"]["labels"]["stegocluster.io/role"] = role;
  return pod;
}

std::vector<std::string> Flat(const std::vector<RoleChange>& changes) {
  std::vector<std::string> out;
  for (const auto& c : changes) out.push_back(c.pod + "=" + c.role);
  return out;
}

TEST(RolesTest, TheNewLeaderIsPromotedBeforeTheOldOneIsDemoted) {
  const std::vector<Json> pods = {Pod("demo-0", "follower"), Pod("demo-1", "leader"), Pod("demo-2", "follower")};
  EXPECT_EQ(Flat(RoleChanges(pods, "demo-0")), (std::vector<std::string>{"demo-0=leader", "demo-1=follower"}));
}

TEST(RolesTest, ConvergedLabelsNeedNoChange) {
  const std::vector<Json> pods = {Pod("demo-0", "leader"), Pod("demo-1", "follower")};
  EXPECT_TRUE(RoleChanges(pods, "demo-0").empty());
}

TEST(RolesTest, WithoutAKnownLeaderOnlyUnlabelledPodsChange) {
  // An election, or an operator that has just started: routing must not flap.
  const std::vector<Json> pods = {Pod("demo-0", "leader"), Pod("demo-1"), Pod("demo-2", "follower")};
  EXPECT_EQ(Flat(RoleChanges(pods, "")), (std::vector<std::string>{"demo-1=follower"}));
}

TEST(DriftTest, LiveObjectsWithDefaultsAndOtherFieldsStillCoverTheDesiredOne) {
  const Json desired = {{"spec", {{"ports", {{{"name", "http"}, {"port", 8081}}}}, {"selector", {{"a", "b"}}}}}};
  Json live = desired;
  live["spec"]["ports"][0]["protocol"] = "TCP";
  live["spec"]["clusterIP"] = "10.0.0.1";
  live["metadata"] = {{"resourceVersion", "9"}};
  live["spec"]["ports"][0]["port"] = 8081u;  // unsigned vs signed: the same number
  EXPECT_TRUE(Covers(live, desired));
}

TEST(DriftTest, AChangedMissingOrExtraListItemIsDrift) {
  const Json desired = {{"labels", {{"role", "x"}}}, {"args", {"--a", "--b"}}};
  Json changed = desired;
  changed["labels"]["role"] = "y";
  EXPECT_FALSE(Covers(changed, desired));
  Json missing = desired;
  missing.erase("labels");
  EXPECT_FALSE(Covers(missing, desired));
  Json longer = desired;
  longer["args"].push_back("--c");
  EXPECT_FALSE(Covers(longer, desired));
  EXPECT_FALSE(Covers(Json(), desired));
}

TEST(OptionsTest, DefaultsAndRefusals) {
  const auto ok = app::ParseOptions({"--namespace", "team", "--member-poll-ms", "50"});
  ASSERT_FALSE(ok.exit) << ok.text;
  EXPECT_EQ(ok.options.controller.ns, "team");
  EXPECT_EQ(ok.options.controller.member_poll_interval, std::chrono::milliseconds(50));
  EXPECT_TRUE(ok.options.leader_elect);
  const auto bad = app::ParseOptions({"--renew-deadline-ms", "20000"});  // longer than the lease
  EXPECT_TRUE(bad.exit);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.text.find("--lease-duration-ms"), std::string::npos) << bad.text;
  EXPECT_EQ(app::ParseOptions({"--bogus"}).exit_code, 2);
  EXPECT_EQ(app::ParseOptions({"--log-format", "xml"}).exit_code, 2);
  EXPECT_EQ(app::ParseOptions({"--http", "8080"}).exit_code, 2);  // not host:port
}

}  // namespace
}  // namespace stegocluster::controller
