// Replicated API keys on three real members: created through any member, in force on every member
// once applied there, never shown again after creation, deleted everywhere, and no acknowledged
// key lost when the leader is killed while keys are being created.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/cluster/cluster_fixture.h"

namespace {

using namespace clustertest;

testsupport::HeaderList Bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}};
}

class Keys : public Cluster {
 protected:
  // POST /api/v1/keys with the admin key, through `via`.
  testsupport::HttpResponse Create(const std::string& via, const json& body) {
    return Client(via).Request("POST", "/api/v1/keys", body.dump(), kAdmin);
  }

  // The secret of a new key, created through `via`.
  std::string CreateKey(const std::string& via, const std::string& name, const std::string& role) {
    const auto created = Create(via, {{"name", name}, {"role", role}});
    EXPECT_EQ(created.status, 201) << created.body;
    return created.status == 201 ? created.Json()["key"].get<std::string>() : "";
  }

  int Embed(const std::string& name, const testsupport::HeaderList& headers = {}) {
    testsupport::MultipartBuilder form;
    form.Field("message", "meet at noon");
    testsupport::HeaderList all = headers;
    std::erase_if(all, [](const auto& h) { return h.first == "Content-Type"; });
    all.emplace_back("Content-Type", form.ContentType());
    return Client(name).Request("POST", "/api/v1/embed", form.Body(), all).status;
  }

  // A cheap call on a user route.
  int ReadConfig(const std::string& name, const std::string& token) {
    return Client(name).Request("GET", "/api/v1/config", "", Bearer(token)).status;
  }

  // Whether `name` has applied a key: until then its user routes are open to any token.
  bool KnowsKeys(const std::string& name) { return ReadConfig(name, "stego_unknown") == 401; }
};

TEST_F(Keys, ApiKeysCreatedThroughAFollowerGuardEveryMember) {
  WaitFullyFormed();
  const std::string follower = Follower(WaitLeader());
  for (const auto& [name, m] : members_) EXPECT_EQ(Embed(name), 200) << name << ": open while no key exists";
  EXPECT_EQ(Client(follower).Request("GET", "/api/v1/keys").status, 401);

  const auto created = Create(follower, {{"name", "ci pipeline"}, {"role", "user"}});
  ASSERT_EQ(created.status, 201) << created.body;
  const json user = created.Json();
  EXPECT_EQ(user["name"], "ci pipeline");
  EXPECT_EQ(user["role"], "user");
  EXPECT_TRUE(user["id"].is_string() && !user["id"].get<std::string>().empty());
  EXPECT_TRUE(user["created_at"].is_string());
  const std::string user_key = user["key"].get<std::string>();
  EXPECT_TRUE(user_key.starts_with("stego_")) << user_key;
  EXPECT_EQ(created.Header("Cache-Control"), "no-store");
  const std::string admin_key = CreateKey(follower, "ops", "admin");
  ASSERT_FALSE(admin_key.empty());

  for (const auto& [name, m] : members_) {
    ASSERT_TRUE(Eventually([&] { return KnowsKeys(name); })) << name;
    EXPECT_EQ(Embed(name, Bearer(user_key)), 200) << name;
    const auto anonymous = Client(name).Request("POST", "/api/v1/capacity");
    EXPECT_EQ(anonymous.status, 401) << name;
    EXPECT_EQ(anonymous.Header("WWW-Authenticate"), "Bearer") << name;
    EXPECT_EQ(anonymous.Json()["code"], "unauthorized") << name;
    EXPECT_EQ(Embed(name), 401) << name;
    EXPECT_EQ(Embed(name, Bearer("stego_unknown")), 401) << name;
    EXPECT_EQ(Embed(name, Bearer(kAdminKey)), 200) << name << ": the --admin-key always works";
    const auto too_low = Client(name).Request("PUT", "/api/v1/config", R"({"default_lsb_bits": 2})", Bearer(user_key));
    EXPECT_EQ(too_low.status, 403) << name;
    EXPECT_EQ(too_low.Json()["code"], "forbidden") << name;
    EXPECT_EQ(Client(name).Request("POST", "/api/v1/keys", R"({"name": "mine"})", Bearer(user_key)).status, 403);
    EXPECT_EQ(Client(name).Request("GET", "/api/v1/keys", "", Bearer(user_key)).status, 403);
    EXPECT_EQ(Client(name).Request("PUT", "/api/v1/config", R"({"default_lsb_bits": 2})", Bearer(admin_key)).status, 200)
        << name << ": an admin-role key works on admin routes";
    for (const char* path : {"/healthz", "/readyz", "/metrics", "/raft/status", "/cluster/status", "/openapi.json"}) {
      EXPECT_EQ(Client(name).Request("GET", path).status, 200) << name << " " << path << " stays public";
    }
  }

  for (const auto& [name, m] : members_) {
    const auto listed = Client(name).Request("GET", "/api/v1/keys?consistent=true", "", Bearer(admin_key));
    ASSERT_EQ(listed.status, 200) << listed.body;
    const json keys = listed.Json()["keys"];
    ASSERT_EQ(keys.size(), 2u) << name;
    EXPECT_EQ(keys[0]["id"], user["id"]);
    EXPECT_EQ(keys[0]["created_at"], user["created_at"]);
    EXPECT_EQ(keys[1]["name"], "ops");
    EXPECT_EQ(keys[1]["role"], "admin");
    for (const auto& k : keys) EXPECT_EQ(k.size(), 4u) << k.dump() << ": id, name, role, created_at only";
    EXPECT_EQ(listed.body.find(user_key.substr(6)), std::string::npos) << "a secret is never shown again";
    EXPECT_EQ(listed.body.find(admin_key.substr(6)), std::string::npos);
  }
}

TEST_F(Keys, ApiKeyRequestsAreValidated) {
  WaitFullyFormed();
  const std::string leader = WaitLeader();
  const std::vector<std::pair<std::string, json>> bad = {  // field at fault, body
      {"body", json::array({1})},
      {"name", json{{"role", "user"}}},
      {"name", json{{"name", std::string(65, 'x')}}},
      {"name", json{{"name", "two\nlines"}}},
      {"role", json{{"name", "x"}, {"role", "root"}}},
      {"scope", json{{"name", "x"}, {"scope", "all"}}},
  };
  for (const auto& [field, body] : bad) {
    const auto refused = Create(leader, body);
    EXPECT_EQ(refused.status, 400) << body.dump();
    EXPECT_EQ(refused.Json()["code"], "invalid_parameter") << body.dump();
    EXPECT_EQ(refused.Json()["field"], field) << body.dump() << ": " << refused.body;
  }
  EXPECT_EQ(Client(leader).Request("POST", "/api/v1/keys", "{", kAdmin).Json()["field"], "body");
  EXPECT_EQ(Client(leader).Request("POST", "/api/v1/keys", json{{"name", std::string(8 << 10, 'x')}}.dump(), kAdmin).status, 413);
  EXPECT_EQ(Client(leader).Request("POST", "/api/v1/keys", R"({"name": "x"})").status, 401);

  const auto created = Create(leader, {{"name", "ci"}});
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.Json()["role"], "user") << "the least privilege unless asked";
  const auto again = Create(Follower(leader), {{"name", "ci"}, {"role", "admin"}});
  EXPECT_EQ(again.status, 409) << again.body;
  const auto unknown = Client(leader).Request("DELETE", "/api/v1/keys/0123456789abcdef", "", kAdmin);
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.Json()["code"], "no_such_key");
}

TEST_F(Keys, DeletedApiKeyStopsWorkingOnEveryMember) {
  WaitFullyFormed();
  const std::string leader = WaitLeader();
  const std::string follower = Follower(leader);
  const auto created = Create(leader, {{"name", "short-lived"}});
  ASSERT_EQ(created.status, 201);
  const std::string id = created.Json()["id"].get<std::string>(), doomed = created.Json()["key"].get<std::string>();
  const std::string kept = CreateKey(leader, "kept", "user");
  for (const auto& [name, m] : members_) {
    ASSERT_TRUE(Eventually([&] { return KnowsKeys(name) && ReadConfig(name, kept) == 200; })) << name;
    EXPECT_EQ(ReadConfig(name, doomed), 200) << name;
  }

  // Through a follower: it may learn of the key only by asking the leader (read-index).
  const auto deleted = Client(follower).Request("DELETE", "/api/v1/keys/" + id, "", kAdmin);
  ASSERT_EQ(deleted.status, 204) << deleted.body;
  EXPECT_EQ(ReadConfig(follower, doomed), 401) << "gone on the member that answered, at once";
  for (const auto& [name, m] : members_) {
    EXPECT_TRUE(Eventually([&] { return ReadConfig(name, doomed) == 401; })) << name;
    EXPECT_EQ(Embed(name, Bearer(doomed)), 401) << name;
    EXPECT_EQ(Embed(name, Bearer(kept)), 200) << name;
  }
  EXPECT_EQ(Client(leader).Request("DELETE", "/api/v1/keys/" + id, "", kAdmin).status, 404);
  const json listed = Client(leader).Request("GET", "/api/v1/keys", "", kAdmin).Json();
  ASSERT_EQ(listed["keys"].size(), 1u);
  EXPECT_EQ(listed["keys"][0]["name"], "kept");

  // With no key left, user routes are open again (access.h).
  const std::string kept_id = listed["keys"][0]["id"].get<std::string>();
  ASSERT_EQ(Client(leader).Request("DELETE", "/api/v1/keys/" + kept_id, "", kAdmin).status, 204);
  for (const auto& [name, m] : members_) EXPECT_TRUE(Eventually([&] { return Embed(name) == 200; })) << name;
}

// One writer creates keys through every member while the leader gets SIGKILL. Every key that was
// acknowledged (201) must work on every member once the killed member is back from its disk.
TEST_F(Keys, KillNineOfTheLeaderLosesNoAcknowledgedApiKey) {
  WaitFullyFormed();
  const std::string old_leader = WaitLeader();
  std::vector<std::string> order;
  for (const auto& [name, m] : members_) {
    if (name != old_leader) order.push_back(name);
  }
  order.push_back(old_leader);
  std::mutex mu;
  std::map<std::string, std::string> acked;  // id -> secret
  std::atomic<bool> stop = false, killed = false;
  std::atomic<int> acked_after_kill = 0;
  std::thread writer([&] {
    for (std::size_t k = 0; !stop; ++k) {
      const std::string target = order[k % order.size()];
      try {
        HttpClient c("127.0.0.1", members_.at(target).http_port, 10s);
        const auto r = c.Request("POST", "/api/v1/keys", json{{"name", "k" + std::to_string(k)}}.dump(), kAdmin);
        if (r.status == 201) {
          std::lock_guard lk(mu);
          acked[r.Json()["id"].get<std::string>()] = r.Json()["key"].get<std::string>();
          if (killed) ++acked_after_kill;
        }
      } catch (const std::exception&) {
      }
    }
  });
  std::this_thread::sleep_for(600ms);
  members_.at(old_leader).process->Signal(SIGKILL);
  ASSERT_TRUE(members_.at(old_leader).process->WaitExit(5s).has_value());
  killed = true;
  const bool resumed = Eventually([&] { return acked_after_kill > 3; });
  stop = true;
  writer.join();
  ASSERT_TRUE(resumed) << "key creation did not resume on the new leader";
  EXPECT_NE(WaitLeader(), old_leader);

  Start(old_leader);  // back from its data directory
  ASSERT_GT(acked.size(), 5u);
  for (const auto& [name, m] : members_) {
    std::set<std::string> ids;
    ASSERT_TRUE(Eventually([&] {
      const auto listed = Client(name).Request("GET", "/api/v1/keys?consistent=true", "", kAdmin);
      if (listed.status != 200) return false;
      const json keys = listed.Json()["keys"];
      for (const auto& k : keys) ids.insert(k["id"].get<std::string>());
      return true;
    })) << name << " does not list its keys";
    for (const auto& [id, secret] : acked) {
      EXPECT_TRUE(ids.contains(id)) << name << ": acknowledged key " << id << " lost";
      EXPECT_EQ(ReadConfig(name, secret), 200) << name << ": acknowledged key " << id << " does not work";
    }
    EXPECT_EQ(ReadConfig(name, "stego_unknown"), 401) << name;
  }
  WaitFullyFormed();
}

// A member restarted from its data directory replays its log before it serves, so it never opens
// its user routes to anyone in the meantime.
TEST_F(Keys, ARestartedMemberGuardsItsRoutesFromItsFirstRequest) {
  WaitFullyFormed();
  const std::string leader = WaitLeader();
  const std::string user_key = CreateKey(leader, "restart", "user");
  for (int round = 0; round < 3; ++round) {
    const std::string follower = Follower(leader);
    ASSERT_TRUE(Eventually([&] { return KnowsKeys(follower); }));
    members_.at(follower).process->Signal(SIGKILL);
    members_.at(follower).process->WaitExit(5s);
    Start(follower);  // returns once it listens
    EXPECT_EQ(ReadConfig(follower, "stego_unknown"), 401) << "round " << round;
    EXPECT_EQ(ReadConfig(follower, user_key), 200) << "round " << round;
  }
}

}  // namespace
