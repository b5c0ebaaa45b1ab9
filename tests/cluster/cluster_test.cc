// Three real stego-worker processes forming a cluster on loopback, as the README's run command
// starts them: bootstrap and joins, the replicated configuration, kill -9 and SIGTERM of the
// leader, a member restarted from disk, a member whose data directory was wiped.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/cluster/cluster_fixture.h"

namespace {

using namespace clustertest;
using testsupport::MultipartBuilder;

TEST_F(Cluster, FormsFromTheFirstMemberAndEveryoneBecomesAVoter) {
  WaitFullyFormed();
  const std::string leader = WaitLeader();
  ASSERT_FALSE(leader.empty());
  EXPECT_NE(members_.at("node1").process->Output().find("bootstrapped a new cluster"), std::string::npos);
  for (const char* joiner : {"node2", "node3"}) {
    EXPECT_NE(members_.at(joiner).process->Output().find("joined through"), std::string::npos) << joiner;
  }
  std::set<std::uint64_t> ids;
  for (const auto& [name, m] : members_) {
    const json s = RaftStatus(name);
    EXPECT_EQ(s["id"], name);
    EXPECT_EQ(s["leader_address"], "127.0.0.1:" + std::to_string(members_.at(leader).http_port));
    ids.insert(s["raft_id"].get<std::uint64_t>());
    EXPECT_TRUE(Eventually([&] { return Client(name).Request("GET", "/readyz").status == 200; })) << name;
  }
  EXPECT_EQ(ids.size(), 3u) << "every member has its own Raft id";
}

TEST_F(Cluster, ConfigurationWrittenThroughAFollowerIsReplicated) {
  WaitFullyFormed();
  const std::string leader = WaitLeader();
  const std::string follower = Follower(leader);
  EXPECT_EQ(Client(follower).Request("PUT", "/api/v1/config", R"({"default_lsb_bits": 2})").status, 401);
  const auto bad = PutConfig(follower, {{"default_lsb_bits", 9}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.Json()["code"], "invalid_config");
  EXPECT_EQ(PutConfig(follower, {{"no_such_key", 1}}).status, 400);

  const auto ok = PutConfig(follower, {{"default_lsb_bits", 3}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  const std::uint64_t version = ok.Json()["version"];
  EXPECT_GT(version, 0u);
  for (const auto& [name, m] : members_) {
    const json c = Client(name).Request("GET", "/api/v1/config?consistent=true").Json();
    EXPECT_EQ(c["config"]["default_lsb_bits"], 3) << name;
    EXPECT_EQ(c["config"]["max_pixels"], 40'000'000) << name << ": untouched keys keep their defaults";
    EXPECT_GE(c["version"].get<std::uint64_t>(), version) << name;
  }
}

// A single writer raises max_pixels 1001, 1002, ... against whichever member answers; the leader
// gets SIGKILL in the middle. Every acknowledged value must survive: the final value on every
// member is at least the last acknowledged one.
TEST_F(Cluster, KillNineOfTheLeaderLosesNoAcknowledgedConfigWrite) {
  WaitFullyFormed();
  const std::string old_leader = WaitLeader();
  std::atomic<bool> stop = false;
  std::atomic<int> last_acked = 0, acked_after_kill = 0;
  std::atomic<bool> killed = false;
  std::vector<std::string> order;
  for (const auto& [name, m] : members_) {
    if (name != old_leader) order.push_back(name);
  }
  order.push_back(old_leader);  // mostly through followers, so forwarding is exercised too
  std::thread writer([&] {
    int next = 1;
    for (std::size_t k = 0; !stop; ++k) {
      const std::string target = order[k % order.size()];
      try {
        HttpClient c("127.0.0.1", members_.at(target).http_port, 10s);
        if (c.Request("PUT", "/api/v1/config", json{{"max_pixels", 1000 + next}}.dump(), kAdmin).status == 200) {
          last_acked = next;
          if (killed) ++acked_after_kill;
        }
      } catch (const std::exception&) {
      }
      ++next;  // an unacknowledged value is never retried: it may or may not have been applied
    }
  });
  std::this_thread::sleep_for(600ms);
  members_.at(old_leader).process->Signal(SIGKILL);
  ASSERT_TRUE(members_.at(old_leader).process->WaitExit(5s).has_value());
  killed = true;
  ASSERT_TRUE(Eventually([&] { return acked_after_kill > 5; })) << "writes did not resume";
  stop = true;
  writer.join();
  const std::string new_leader = WaitLeader();
  EXPECT_NE(new_leader, old_leader);

  Start(old_leader);  // back from its data directory, as itself
  ASSERT_GT(last_acked.load(), 5);
  ExpectNoAcknowledgedWriteLost(last_acked);
  WaitFullyFormed();
}

// The configuration is not just stored: every member's stego endpoints follow it.
TEST_F(Cluster, ReplicatedConfigurationChangesEveryMembersStegoDefaults) {
  WaitFullyFormed();
  const std::string leader = WaitLeader();
  ASSERT_EQ(PutConfig(leader, {{"default_lsb_bits", 3}}).status, 200);
  const testsupport::MultipartBuilder empty;
  for (const auto& [name, m] : members_) {
    ASSERT_TRUE(Eventually([&] { return Config(name)["config"]["default_lsb_bits"] == 3; }));
    const auto capacity = Client(name).Request("POST", "/api/v1/capacity", empty.Body(),
                                               {{"Content-Type", empty.ContentType()}});
    ASSERT_EQ(capacity.status, 200) << capacity.body;
    EXPECT_EQ(capacity.Json()["cover_info"]["lsb_per_channel"], 3) << name;
  }
  const auto image = Client(leader).Request("GET", "/api/v1/dataset/0");
  ASSERT_EQ(image.status, 200);
  testsupport::MultipartBuilder with_cover;
  with_cover.File("cover", "cover.png", "image/png", image.body);
  ASSERT_EQ(Client(leader).Request("POST", "/api/v1/capacity", with_cover.Body(),
                                   {{"Content-Type", with_cover.ContentType()}}).status, 200);
  ASSERT_EQ(PutConfig(leader, {{"max_pixels", 64}}).status, 200);
  for (const auto& [name, m] : members_) {
    ASSERT_TRUE(Eventually([&] { return Config(name)["config"]["max_pixels"] == 64; }));
    const auto refused = Client(name).Request("POST", "/api/v1/capacity", with_cover.Body(),
                                              {{"Content-Type", with_cover.ContentType()}});
    EXPECT_EQ(refused.status, 413) << name << ": an uploaded cover over max_pixels 64 is refused: " << refused.body;
  }
}

TEST_F(Cluster, SigtermOfTheLeaderHandsLeadershipOverAndExitsCleanly) {
  WaitFullyFormed();
  const std::string leader = WaitLeader();
  ASSERT_EQ(PutConfig(leader, {{"default_lsb_bits", 2}}).status, 200);
  EXPECT_EQ(members_.at(leader).process->Stop(), 0);
  EXPECT_NE(members_.at(leader).process->Output().find("handing leadership to"), std::string::npos);
  const std::string next = WaitLeader();
  ASSERT_FALSE(next.empty());
  EXPECT_NE(next, leader);
  EXPECT_EQ(PutConfig(next, {{"default_lsb_bits", 4}}).status, 200);
}

// A member whose directory was wiped is a new member: it joins under a new Raft id and the stale
// id that carried its name is removed, so the configuration still has exactly three voters.
TEST_F(Cluster, WipedMemberRejoinsUnderANewIdentity) {
  WaitFullyFormed();
  ASSERT_EQ(PutConfig(WaitLeader(), {{"default_lsb_bits", 2}}).status, 200);
  const std::string victim = "node1";  // the bootstrapper: a wiped one must not bootstrap again
  const std::uint64_t old_id = RaftStatus(victim)["raft_id"];
  members_.at(victim).process->Signal(SIGKILL);
  members_.at(victim).process->WaitExit(5s);
  std::filesystem::remove_all(members_.at(victim).dir);
  Start(victim);
  WaitFullyFormed();
  EXPECT_NE(RaftStatus(victim)["raft_id"].get<std::uint64_t>(), old_id);
  EXPECT_EQ(members_.at(victim).process->Output().find("bootstrapped"), std::string::npos);
  ASSERT_TRUE(Eventually([&] { return Config(victim)["config"]["default_lsb_bits"] == 2; }))
      << "the new member did not receive the replicated state";
}

// A hung leader (SIGSTOP): the others elect a new one and keep taking writes; when it resumes it
// learns of the newer term, follows, and catches up.
TEST_F(Cluster, StoppedLeaderIsReplacedAndFollowsWhenItResumes) {
  WaitFullyFormed();
  const std::string hung = WaitLeader();
  members_.at(hung).process->Signal(SIGSTOP);
  frozen_.insert(hung);
  const std::string next = WaitLeader();
  ASSERT_FALSE(next.empty());
  EXPECT_NE(next, hung);
  ASSERT_EQ(PutConfig(next, {{"max_pixels", 7777}}).status, 200);
  members_.at(hung).process->Signal(SIGCONT);
  frozen_.erase(hung);
  EXPECT_EQ(WaitLeader(), next) << "the resumed member must not disturb the new leader";
  EXPECT_TRUE(Eventually([&] { return Config(hung)["config"]["max_pixels"] == 7777; }));
  EXPECT_EQ(RaftStatus(hung)["role"], "follower");
}

// A paused leader (fault injection) drops all Raft traffic, as a member cut off from its peers:
// it steps down (check-quorum), the others carry on, and on restore it rejoins as a follower.
TEST_F(Cluster, PausedLeaderIsCutOffAndRejoinsOnRestore) {
  WaitFullyFormed();
  const std::string paused = WaitLeader();
  ASSERT_EQ(Client(paused).Request("POST", "/admin/fail", R"({"action": "pause"})", kAdmin).status, 200);
  frozen_.insert(paused);
  EXPECT_EQ(Client(paused).Request("GET", "/raft/status").status, 503);
  const std::string next = WaitLeader();
  ASSERT_FALSE(next.empty());
  EXPECT_NE(next, paused);
  ASSERT_EQ(PutConfig(next, {{"max_pixels", 8888}}).status, 200);
  ASSERT_EQ(Client(paused).Request("POST", "/admin/restore", "", kAdmin).status, 200);
  frozen_.erase(paused);
  EXPECT_EQ(WaitLeader(), next);
  EXPECT_TRUE(Eventually([&] { return Config(paused)["config"]["max_pixels"] == 8888; }));
  EXPECT_EQ(RaftStatus(paused)["role"], "follower");
}

// The prototype's /cluster/status: every member with its role, health and load, as any member
// sees it; a paused member is reported unhealthy, a killed one too.
TEST_F(Cluster, ClusterStatusReportsEveryMembersRoleHealthAndLoad) {
  WaitFullyFormed();
  const std::string leader = WaitLeader();
  testsupport::MultipartBuilder empty;
  for (int k = 0; k < 5; ++k) {
    ASSERT_EQ(Client("node2").Request("POST", "/api/v1/capacity", empty.Body(), {{"Content-Type", empty.ContentType()}}).status, 200);
  }
  auto node_of = [](const json& status, const std::string& name) {
    for (const auto& n : status["nodes"]) {
      if (n["id"] == name) return n;
    }
    return json(nullptr);
  };
  ASSERT_TRUE(Eventually([&] { return node_of(Client("node3").Request("GET", "/cluster/status").Json(), "node2")["qps_1m"] > 0; }, 5s))
      << "node2's stego requests do not show in its load";
  const json status = Client("node3").Request("GET", "/cluster/status").Json();
  EXPECT_EQ(status["leader_id"], leader);
  EXPECT_GT(status["term"].get<int>(), 0);
  ASSERT_EQ(status["nodes"].size(), 3u);
  for (const auto& [name, m] : members_) {
    const json n = node_of(status, name);
    ASSERT_TRUE(n.is_object()) << name;
    EXPECT_EQ(n["role"], name == leader ? "Leader" : "Follower") << "the prototype's capitalised role names";
    EXPECT_EQ(n["healthy"], true);
    EXPECT_EQ(n["ip"], "127.0.0.1");
    EXPECT_EQ(n["http_port"], m.http_port);
    EXPECT_EQ(n["raft_port"], m.peer_port);
    for (const char* k : {"cpu_pct", "mem_pct", "qps_1m", "p95_ms"}) EXPECT_TRUE(n[k].is_number()) << name << " " << k;
    EXPECT_GT(n["mem_pct"].get<double>(), 0) << name;
    EXPECT_GT(n["applied"].get<std::uint64_t>(), 0u) << name << ": the formation's entries at least";
    EXPECT_TRUE(n["lag"].is_number_unsigned()) << name;
  }
  auto least_lag = [](const json& nodes) {
    std::uint64_t least = UINT64_MAX;
    for (const auto& n : nodes) least = std::min(least, n["lag"].get<std::uint64_t>());
    return least;
  };
  EXPECT_EQ(least_lag(status["nodes"]), 0u) << "lag counts from the most advanced member";
  ASSERT_EQ(Client("node1").Request("POST", "/admin/fail", R"({"action": "pause"})", kAdmin).status, 200);
  EXPECT_EQ(node_of(Client("node3").Request("GET", "/cluster/status").Json(), "node1")["healthy"], false);
  ASSERT_EQ(Client("node1").Request("POST", "/admin/restore", "", kAdmin).status, 200);
  members_.at("node2").process->Signal(SIGKILL);
  members_.at("node2").process->WaitExit(5s);
  const json after = node_of(Client("node3").Request("GET", "/cluster/status").Json(), "node2");
  EXPECT_EQ(after["healthy"], false);
  EXPECT_TRUE(after["applied"].is_null() && after["lag"].is_null()) << after;
  for (const char* k : {"cpu_pct", "mem_pct", "qps_1m", "p95_ms"}) {
    EXPECT_EQ(after[k], 0) << k << ": a member that does not answer reports zeros, never null";
    EXPECT_TRUE(after[k].is_number()) << k;
  }
}

// /cluster/history, the console's charts: every member's load one sample a second, oldest first,
// as any member sees it; the stego requests one member answered show in its samples.
TEST_F(Cluster, ClusterHistoryHoldsEveryMembersLoadSecondBySecond) {
  WaitFullyFormed();
  testsupport::MultipartBuilder empty;
  for (int k = 0; k < 5; ++k) {
    ASSERT_EQ(Client("node2").Request("POST", "/api/v1/capacity", empty.Body(), {{"Content-Type", empty.ContentType()}}).status, 200);
  }
  auto history_of = [&](const std::string& name) {
    const json history = Client("node3").Request("GET", "/cluster/history").Json();
    for (const auto& n : history["nodes"]) {
      if (n["id"] == name) return n;
    }
    return json(nullptr);
  };
  auto answered = [](const json& samples) {
    double requests = 0;
    for (const auto& s : samples) requests += s["rps"].get<double>();
    return requests;
  };
  // A second's rate is requests over the sample's own span, so the sum comes near 5, not exactly.
  ASSERT_TRUE(Eventually([&] { return answered(history_of("node2")["samples"]) > 4; }, 10s))
      << "node2's requests do not show in its history: " << history_of("node2");
  auto everyone_sampled = [&] {
    for (const auto& [name, m] : members_) {
      if (history_of(name)["samples"].empty()) return false;
    }
    return true;
  };
  ASSERT_TRUE(Eventually(everyone_sampled, 10s)) << "a member has no sample after seconds";
  const json history = Client("node3").Request("GET", "/cluster/history").Json();
  EXPECT_EQ(history["interval_ms"], 1000);
  ASSERT_EQ(history["nodes"].size(), 3u);
  for (const auto& n : history["nodes"]) {
    EXPECT_EQ(n["healthy"], true) << n["id"];
    EXPECT_LE(n["samples"].size(), 300u) << n["id"];
    std::int64_t last = 0;
    for (const auto& s : n["samples"]) {
      EXPECT_GT(s["t"].get<std::int64_t>(), last) << n["id"] << ": oldest first";
      last = s["t"].get<std::int64_t>();
      for (const char* k : {"cpu_pct", "mem_pct", "rps", "p95_ms"}) EXPECT_TRUE(s[k].is_number()) << k;
    }
    if (n["id"] != "node2") {
      EXPECT_EQ(answered(n["samples"]), 0) << n["id"] << " answered no stego request";
    }
  }
  members_.at("node1").process->Signal(SIGKILL);
  members_.at("node1").process->WaitExit(5s);
  const json gone = history_of("node1");
  EXPECT_EQ(gone["healthy"], false);
  EXPECT_TRUE(gone["samples"].empty()) << "a member that does not answer has no samples";
}

TEST_F(Cluster, AdminTransfersLeadershipToTheNamedMember) {
  WaitFullyFormed();
  const std::string leader = WaitLeader();
  const std::string target = Follower(leader);
  const json body = {{"target", target}};
  const auto at_follower = Client(target).Request("POST", "/admin/transfer-leadership", body.dump(), kAdmin);
  EXPECT_EQ(at_follower.status, 409);
  EXPECT_EQ(at_follower.Json()["leader_id"], leader) << "a follower names the leader to retry at";
  const auto moved = Client(leader).Request("POST", "/admin/transfer-leadership", body.dump(), kAdmin);
  ASSERT_EQ(moved.status, 200) << moved.body;
  EXPECT_EQ(moved.Json()["leader_id"], target);
  EXPECT_EQ(WaitLeader(), target);
  EXPECT_EQ(Client(target).Request("POST", "/admin/transfer-leadership", json{{"target", "nobody"}}.dump(), kAdmin).status, 400);
}

// Growing to four members and five, and back: newcomers join and are promoted on their own;
// the administrator removes them one at a time, and the group keeps taking writes throughout.
TEST_F(Cluster, FourthAndFifthMembersJoinAndAreRemovedAgain) {
  WaitFullyFormed();
  for (const char* name : {"node4", "node5"}) {
    AddMember(name);
    Start(name);
    WaitFullyFormed();
    ASSERT_EQ(PutConfig(WaitLeader(), {{"max_pixels", 1000 + static_cast<int>(members_.size())}}).status, 200);
  }
  EXPECT_EQ(Voters("node1").size(), 5u);
  for (const char* name : {"node5", "node4"}) {
    const std::string leader = WaitLeader();
    const auto removed = Client(leader).Request("POST", "/admin/members", json{{"action", "remove"}, {"name", name}}.dump(), kAdmin);
    ASSERT_EQ(removed.status, 200) << removed.body;
    EXPECT_TRUE(Eventually([&] { return Voters(leader).count(name) == 0; })) << name;
    members_.at(name).process->Stop();
    members_.erase(name);
  }
  WaitFullyFormed();
  const std::string leader = WaitLeader();
  ASSERT_EQ(PutConfig(leader, {{"max_pixels", 4242}}).status, 200);
  for (const auto& [name, m] : members_) {
    EXPECT_TRUE(Eventually([&] { return Config(name)["config"]["max_pixels"] == 4242; })) << name;
  }
  EXPECT_EQ(Client(leader).Request("POST", "/admin/members", json{{"action", "remove"}, {"name", "node9"}}.dump(), kAdmin).status, 404);
}

TEST_F(Cluster, PeerPortRefusesJoinsWithoutTheClusterSecret) {
  WaitFullyFormed();
  const std::string leader = WaitLeader();
  HttpClient peer("127.0.0.1", members_.at(leader).peer_port, 5s);
  const json intruder = {{"id", 42}, {"name", "intruder"}, {"peer", "127.0.0.1:1"}, {"http", "127.0.0.1:2"}};
  const auto r = peer.Request("POST", "/raft/v1/join", intruder.dump(), {{"Content-Type", "application/json"}});
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.Json()["code"], "unauthorized");
  EXPECT_EQ(peer.Request("GET", "/raft/v1/cluster").status, 401);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(Voters(leader).count("intruder"), 0u);
}

// The prototype's redirect instead of forwarding: a client that asks for it (X-Stego-Leader-Only)
// gets not_leader from a follower, naming the leader and its API address, and the write is not
// made; the leader takes it.
TEST_F(Cluster, AClientThatAsksForTheLeaderIsSentToIt) {
  WaitFullyFormed();
  const std::string leader = WaitLeader();
  const std::string follower = Follower(leader);
  testsupport::HeaderList leader_only = kAdmin;
  leader_only.emplace_back("X-Stego-Leader-Only", "true");
  const auto refused = Client(follower).Request("PUT", "/api/v1/config", R"({"default_lsb_bits": 3})", leader_only);
  ASSERT_EQ(refused.status, 409) << refused.body;
  EXPECT_EQ(refused.Json()["code"], "not_leader");
  EXPECT_EQ(refused.Json()["leader_id"], leader);
  EXPECT_EQ(refused.Json()["leader_address"], "127.0.0.1:" + std::to_string(members_.at(leader).http_port));
  EXPECT_EQ(Client(leader).Request("GET", "/api/v1/config?consistent=true").Json()["config"]["default_lsb_bits"], 1)
      << "the refused write was made";
  EXPECT_EQ(Client(leader).Request("PUT", "/api/v1/config", R"({"default_lsb_bits": 3})", leader_only).status, 200);
}

// Stateless stego routes never depend on the leader: with a majority killed, the survivor (which
// knows no leader) still embeds and extracts on the prototype's routes and ours, with 200.
TEST_F(Cluster, StegoRoutesServeWhileNoLeaderIsKnown) {
  WaitFullyFormed();
  const std::string survivor = WaitLeader();
  std::vector<std::string> others;
  for (const auto& [name, m] : members_) {
    if (name != survivor) others.push_back(name);
  }
  for (const auto& name : others) {
    members_.at(name).process->Signal(SIGKILL);
    members_.at(name).process->WaitExit(5s);
  }
  // Without a majority the leader steps down (check-quorum) and knows no leader.
  ASSERT_TRUE(Eventually([&] { return RaftStatus(survivor)["leader_id"].is_null(); }));
  auto client = Client(survivor);
  const std::string secret = client.Get("/api/dataset/7").body;
  ASSERT_GT(secret.size(), 0u);
  const auto compat = client.PostMultipart("/api/embed", MultipartBuilder().File("file", "secret.png", "image/png", secret));
  ASSERT_EQ(compat.status, 200) << compat.body;
  const std::string stego = testsupport::FromBase64(compat.Json()["stego_image_b64"]);
  const auto recovered = client.PostMultipart("/api/extract", MultipartBuilder().File("file", "stego.png", "image/png", stego));
  ASSERT_EQ(recovered.status, 200) << recovered.body;
  EXPECT_EQ(testsupport::FromBase64(recovered.Json()["recovered_b64"]), secret);
  const auto v1 = client.PostMultipart("/api/v1/embed", MultipartBuilder().Field("message", "hello"));
  ASSERT_EQ(v1.status, 200) << v1.body;
  EXPECT_EQ(client.PostMultipart("/api/v1/extract", MultipartBuilder().File("file", "s.png", "image/png", v1.body)).body,
            "hello");
  EXPECT_EQ(client.PostMultipart("/api/v1/capacity", MultipartBuilder()).status, 200);
  EXPECT_EQ(client.Get("/api/v1/dataset/7").body, secret);
  EXPECT_TRUE(RaftStatus(survivor)["leader_id"].is_null()) << "all of it was served without a leader";
}

// Members listening on every address (as pods do) tell the others the address given with
// --advertise: they form a cluster, and the leader's address points where clients can reach it.
class AdvertisedCluster : public Cluster {
 protected:
  void SetUp() override {
    root_ = testsupport::FreshScratchDirectory("stego-cluster", "advertise");
    for (const char* name : {"node1", "node2", "node3"}) {
      AddMember(name);
      members_.at(name).listen = "0.0.0.0";
    }
    StartAll();
  }
};

TEST_F(AdvertisedCluster, MembersOnEveryAddressAdvertiseWhereTheyAreReached) {
  WaitFullyFormed();
  const std::string leader = WaitLeader();
  for (const auto& [name, m] : members_) {
    EXPECT_EQ(RaftStatus(name)["leader_address"], "127.0.0.1:" + std::to_string(members_.at(leader).http_port));
  }
  // Held in a variable: a range-for over a member of a temporary would read a destroyed object.
  const json view = Client(leader).Request("GET", "/api/v1/cluster").Json();
  ASSERT_EQ(view["members"].size(), members_.size()) << view.dump();
  for (const auto& member : view["members"]) {
    EXPECT_TRUE(member["peer"].get<std::string>().starts_with("127.0.0.1:")) << member.dump();
    EXPECT_TRUE(member["reachable"].get<bool>()) << member.dump();
  }
}

}  // namespace
