// A member cut off from its peers' Raft traffic (POST /admin/fail {"action":"isolate"}) while a
// writer keeps changing the configuration, then healed (/admin/restore): the others carry on
// without it, it refuses writes it cannot commit, and no acknowledged write is ever lost. The
// leader's GET /api/v1/cluster shows the isolated member falling behind and catching up.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/cluster/cluster_fixture.h"
#include "tests/cluster/config_writer.h"

namespace {

using namespace clustertest;
using Clock = std::chrono::steady_clock;

// The node's proposal timeout (NodeOptions::request_timeout): a write the isolated member accepted
// gets its answer (504) by then at the latest.
constexpr auto kProposalTimeout = 5s;

class Isolation : public Cluster {
 protected:
  void Isolate(const std::string& name) {
    const auto r = Client(name).Request("POST", "/admin/fail", R"({"action": "isolate"})", kAdmin);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.Json()["status"], "isolated");
    frozen_.insert(name);  // its view of the leader is stale: leave it out of the agreement
  }

  void Heal(const std::string& name) {
    ASSERT_EQ(Client(name).Request("POST", "/admin/restore", "", kAdmin).status, 200);
    frozen_.erase(name);
  }

  json View(const std::string& name) {
    const auto r = Client(name).Request("GET", "/api/v1/cluster");
    EXPECT_EQ(r.status, 200) << r.body;
    return r.Json();
  }

  static json Entry(const json& view, const std::string& name) {
    for (const auto& m : view["members"]) {
      if (m["id"] == name) return m;
    }
    ADD_FAILURE() << name << " missing from " << view.dump();
    return json::object();
  }


  std::vector<std::string> Others(const std::string& left_out) {
    std::vector<std::string> out;
    for (const auto& [name, m] : members_) {
      if (name != left_out) out.push_back(name);
    }
    return out;
  }
};


TEST_F(Isolation, IsolatedLeaderIsReplacedRefusesWritesAndCatchesUpWhenHealed) {
  WaitFullyFormed();
  const std::string old_leader = WaitLeader();
  std::vector<std::string> all = Others(old_leader);
  all.push_back(old_leader);
  ConfigWriter writer(HttpPorts(), all);
  ASSERT_TRUE(Eventually([&] { return writer.last_acked() >= 5; })) << "no writes before the isolation";

  Isolate(old_leader);
  const auto isolated_at = Clock::now();
  EXPECT_EQ(Client(old_leader).Request("GET", "/raft/status").status, 200) << "an isolated member keeps answering";
  // Sent at once, while it most likely still believes it leads: accepted into its log, never
  // committed. When it steps down the write's fate is unknown, and it is held for a leader to
  // propose it to again; cut off, it learns of none, and answers within the proposal timeout.
  const auto sent = Clock::now();
  const auto direct = PutConfig(old_leader, {{"max_pixels", 999}});
  EXPECT_TRUE(direct.status == 503 || direct.status == 504) << direct.status << " " << direct.body;
  EXPECT_LE(Clock::now() - sent, kProposalTimeout + 1s);
  const std::string next = WaitLeader();
  ASSERT_FALSE(next.empty());
  EXPECT_NE(next, old_leader);
  ASSERT_TRUE(Eventually([&] { return writer.AckedSince(isolated_at) >= 10; }, 30s))
      << "writes through the other two did not continue";
  ASSERT_TRUE(Eventually([&] { return writer.From(old_leader, isolated_at).size() >= 3; }, 30s));
  for (const auto& o : writer.From(old_leader, isolated_at)) {
    EXPECT_TRUE(o.status == 503 || o.status == 504) << "a write to the isolated member answered " << o.status;
    EXPECT_LE(o.answered - o.sent, kProposalTimeout + 1s) << "not refused within the proposal timeout";
  }
  const json cut_off = RaftStatus(old_leader);
  EXPECT_NE(cut_off["role"], "leader") << "check-quorum: an isolated leader steps down";
  EXPECT_LT(cut_off["term"].get<int>(), RaftStatus(next)["term"].get<int>());

  Heal(old_leader);
  const auto healed_at = Clock::now();
  EXPECT_EQ(WaitLeader(), next) << "the healed member must not disturb the new leader";
  EXPECT_EQ(RaftStatus(old_leader)["role"], "follower");
  EXPECT_TRUE(Eventually([&] {
    for (const auto& o : writer.From(old_leader, healed_at)) {
      if (o.status == 200) return true;
    }
    return false;
  }, 30s)) << "the healed member does not take writes again (forwarding them to the new leader)";
  writer.Stop();
  ExpectNoAcknowledgedWriteLost(writer.last_acked());
  WaitFullyFormed();
}

// Also checks the fields of GET /api/v1/cluster, healthy first, then with a follower cut off.
TEST_F(Isolation, IsolatedFollowerFallsBehindInTheClusterViewAndCatchesUpWhenHealed) {
  WaitFullyFormed();
  const std::string leader = WaitLeader();
  const std::string isolated = Others(leader).front();
  const std::string other = Others(leader).back();
  json healthy;
  ASSERT_TRUE(Eventually([&] {
    healthy = View(leader);
    for (const auto& m : healthy["members"]) {
      if (m["lag"] != 0 || m["last_contact_ms"].get<int>() > 500) return false;
    }
    return true;
  })) << healthy.dump();
  EXPECT_EQ(healthy["role"], "leader");
  EXPECT_EQ(healthy["id"], leader);
  EXPECT_EQ(healthy["leader_id"], leader);
  EXPECT_GT(healthy["term"].get<int>(), 0);
  EXPECT_EQ(healthy["voters"].size(), 3u);
  ASSERT_EQ(healthy["members"].size(), 3u);
  for (const auto& [name, m] : members_) {
    const json e = Entry(healthy, name);
    EXPECT_EQ(e["http"], "127.0.0.1:" + std::to_string(m.http_port));
    EXPECT_EQ(e["peer"], "127.0.0.1:" + std::to_string(m.peer_port));
    EXPECT_EQ(e["suffrage"], "voter");
    EXPECT_EQ(e["leader"], name == leader);
    EXPECT_EQ(e["reachable"], true);
    EXPECT_EQ(e["role"], name == leader ? "leader" : "follower");
    EXPECT_EQ(e["term"], healthy["term"]);
    EXPECT_TRUE(e["commit"].is_number() && e["applied"].is_number()) << e.dump();
    EXPECT_EQ(e["match"], healthy["last_index"]) << name;
  }
  const json from_follower = View(other);
  EXPECT_EQ(from_follower["role"], "follower");
  EXPECT_EQ(from_follower["leader_id"], leader);
  for (const auto& e : from_follower["members"]) {
    EXPECT_TRUE(e["commit"].is_number()) << "a follower asks every member for its indexes";
    EXPECT_TRUE(e["match"].is_null() && e["lag"].is_null() && e["last_contact_ms"].is_null())
        << "only the leader knows replication progress: " << e.dump();
  }

  Isolate(isolated);
  ConfigWriter writer(HttpPorts(), {leader, other});
  ASSERT_TRUE(Eventually([&] { return writer.last_acked() >= 10; })) << "writes through the other two stopped";
  const json early = Entry(View(leader), isolated);
  ASSERT_TRUE(Eventually([&] {
    const json now = Entry(View(leader), isolated);
    return now["lag"].get<int>() >= early["lag"].get<int>() + 10 &&
           now["last_contact_ms"].get<int>() > early["last_contact_ms"].get<int>() + 500;
  })) << "lag and last contact of the isolated member do not grow: " << View(leader).dump();
  const json behind = View(leader);
  const json cut = Entry(behind, isolated);
  EXPECT_EQ(cut["reachable"], true) << "isolation cuts Raft messages only; the peer port still answers";
  EXPECT_LT(cut["applied"].get<int>(), behind["commit"].get<int>()) << "it applies nothing while cut off";
  EXPECT_LE(Entry(behind, other)["last_contact_ms"].get<int>(), 500) << "the connected follower keeps answering";
  EXPECT_EQ(WaitLeader(), leader);

  Heal(isolated);
  writer.Stop();
  ASSERT_TRUE(Eventually([&] {
    const json view = View(leader);
    const json e = Entry(view, isolated);
    return e["lag"] == 0 && e["last_contact_ms"].get<int>() <= 500 && e["applied"] == view["commit"];
  })) << "the healed member did not catch up: " << View(leader).dump();
  EXPECT_EQ(WaitLeader(), leader) << "a healed follower must not disturb the leader (pre-vote)";
  ExpectNoAcknowledgedWriteLost(writer.last_acked());
}

}  // namespace
