// Who leads, from what the members say: the highest term's self-declared leader, never a stale one.
#include "operator/members/raft_view.h"

#include <gtest/gtest.h>

namespace stegocluster::members {
namespace {

Member Says(std::string pod, std::string role, std::uint64_t term, std::uint64_t applied = 10) {
  return {std::move(pod), true, RaftView{std::move(role), term, 100 + term, applied}};
}
Member Silent(std::string pod) { return {std::move(pod), false, std::nullopt}; }

TEST(MembersTest, TheLeaderOfTheNewestTermLeads) {
  const auto leader = FindLeader({Says("demo-0", "follower", 4), Says("demo-1", "leader", 4), Says("demo-2", "follower", 4)});
  EXPECT_EQ(leader, (Leadership{"demo-1", 4}));
}

TEST(MembersTest, ADeposedLeaderThatStillBelievesItLeadsIsNotNamed) {
  // demo-0 was cut off in term 4; the others elected demo-2 in term 5.
  const std::vector<Member> members = {Says("demo-0", "leader", 4), Says("demo-1", "follower", 5),
                                       Says("demo-2", "leader", 5)};
  EXPECT_EQ(FindLeader(members), (Leadership{"demo-2", 5}));
}

TEST(MembersTest, NoOneLeadsWhileTheNewestTermHasNoLeader) {
  // An election is under way: the old leader must lose the name, and no one else gets it yet.
  EXPECT_EQ(FindLeader({Says("demo-0", "leader", 4), Says("demo-1", "candidate", 5), Says("demo-2", "follower", 4)}),
            std::nullopt);
  EXPECT_EQ(FindLeader({Silent("demo-0"), Silent("demo-1")}), std::nullopt);
  EXPECT_EQ(FindLeader({}), std::nullopt);
}

TEST(MembersTest, SilentMembersDoNotHideTheLeader) {
  EXPECT_EQ(FindLeader({Silent("demo-0"), Says("demo-1", "leader", 2), Silent("demo-2")}),
            (Leadership{"demo-1", 2}));
}

TEST(MembersTest, StatusLinesGiveRolesAndLagBehindTheLeader) {
  Member leader = Says("demo-0", "leader", 3, 50);
  leader.view->learners = {"demo-3"};
  const std::vector<Member> members = {leader, Says("demo-1", "follower", 3, 48), Silent("demo-2"),
                                       Says("demo-3", "follower", 3, 20)};
  const auto lines = MemberLines(members, FindLeader(members));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], (MemberStatus{"demo-0", 103, "Leader", true, 50, 0}));
  EXPECT_EQ(lines[1], (MemberStatus{"demo-1", 103, "Follower", true, 48, 2}));
  EXPECT_EQ(lines[2], (MemberStatus{"demo-2", 0, "Unknown", false, 0, 0}));
  EXPECT_EQ(lines[3], (MemberStatus{"demo-3", 103, "Learner", true, 20, 30}));
  const auto leaderless = MemberLines({Says("demo-0", "follower", 3, 9)}, std::nullopt);
  EXPECT_EQ(leaderless[0].lag, 0u) << "no lag without a leader to measure it against";
}

TEST(MembersTest, ReadsTheWorkersRaftStatus) {
  // The shape of GET /raft/status (worker/cluster/views.cc).
  const auto view = ParseRaftStatus(nlohmann::json::parse(R"({
    "id": "demo-1", "raft_id": 4611686018427387904, "role": "leader", "term": 7, "leader_id": "demo-1",
    "leader_raft_id": 4611686018427387904, "leader_address": "10.0.0.2:8081", "commit": 12, "applied": 12,
    "voters": ["demo-0", "demo-1"], "learners": ["demo-2"]})"));
  ASSERT_TRUE(view);
  EXPECT_EQ(*view, (RaftView{"leader", 7, 4611686018427387904ull, 12, {"demo-0", "demo-1"}, {"demo-2"}}));
  EXPECT_FALSE(ParseRaftStatus(nlohmann::json::parse(R"({"role": "leader", "term": -1})")));
  EXPECT_FALSE(ParseRaftStatus(nlohmann::json::parse(R"({"error": "not_clustered"})")));
  EXPECT_FALSE(ParseRaftStatus(nlohmann::json("text")));
}

}  // namespace
}  // namespace stegocluster::members
