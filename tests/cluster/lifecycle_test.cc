// Leader changes under a steady stream of writes, and the worker's part of a graceful stop. What
// the operator's rolling restarts and scale-ins rely on: an election or a leadership transfer
// costs a client latency, never a failed write (a member holds the write until a leader takes it
// and proposes it again when a leader change leaves its fate unknown); a write proposed twice, by
// the member or by a client retrying with an Idempotency-Key, takes effect once; a draining member
// hands leadership over, turns unready and keeps serving until it is told to stop.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/cluster/cluster_fixture.h"

namespace {

using namespace clustertest;
using Clock = std::chrono::steady_clock;

testsupport::HeaderList AdminWithKey(const std::string& idempotency_key) {
  testsupport::HeaderList headers = kAdmin;
  headers.emplace_back("Idempotency-Key", idempotency_key);
  return headers;
}

// Creates API keys named w1, w2, ... through the given members in turn, one at a time. A key
// name can be created once only, so a create applied twice would answer 409: every answer must be
// 201, and every member must end up listing exactly the acknowledged names. Paced, so that a test
// of a few seconds stays far below the store's 1000 keys.
class KeyWriter {
 public:
  KeyWriter(std::map<std::string, std::uint16_t> ports, std::vector<std::string> targets)
      : ports_(std::move(ports)), targets_(std::move(targets)), thread_([this] { Run(); }) {}
  ~KeyWriter() { Stop(); }

  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int acknowledged() const { return acknowledged_; }
  std::set<std::string> AcknowledgedNames() const {
    std::lock_guard lk(mu_);
    return names_;
  }
  std::vector<std::string> Failures() const {
    std::lock_guard lk(mu_);
    return failures_;
  }
  // Waits for `more` acknowledgements beyond the count now.
  bool Progresses(int more) {
    const int target = acknowledged_ + more;
    return testsupport::Eventually([&] { return acknowledged_ >= target; }, 30s);
  }

 private:
  static constexpr int kMaxKeys = 900;

  void Run() {
    for (int n = 1; !stop_ && n <= kMaxKeys; ++n) {
      const std::string target = targets_[static_cast<std::size_t>(n) % targets_.size()];
      const std::string name = "w" + std::to_string(n);
      testsupport::HttpResponse answer;
      try {
        answer = HttpClient("127.0.0.1", ports_.at(target), 20s)
                     .Request("POST", "/api/v1/keys", json{{"name", name}}.dump(), kAdmin);
      } catch (const std::exception& e) {
        answer.body = e.what();
      }
      std::lock_guard lk(mu_);
      if (answer.status == 201) {
        names_.insert(name);
        ++acknowledged_;
      } else {
        failures_.push_back(name + " via " + target + ": " + std::to_string(answer.status) + " " + answer.body);
      }
      std::this_thread::sleep_for(20ms);
    }
  }

  const std::map<std::string, std::uint16_t> ports_;
  const std::vector<std::string> targets_;
  std::atomic<bool> stop_ = false;
  std::atomic<int> acknowledged_ = 0;
  mutable std::mutex mu_;
  std::set<std::string> names_;
  std::vector<std::string> failures_;
  std::thread thread_;  // last: starts once the rest is built
};

class Lifecycle : public Cluster {
 protected:
  std::map<std::string, std::uint16_t> HttpPorts() const {
    std::map<std::string, std::uint16_t> out;
    for (const auto& [name, m] : members_) out[name] = m.http_port;
    return out;
  }

  std::vector<std::string> Others(const std::string& left_out) const {
    std::vector<std::string> out;
    for (const auto& [name, m] : members_) {
      if (name != left_out) out.push_back(name);
    }
    return out;
  }

  // The names of the API keys `member` lists once it has applied everything committed.
  std::set<std::string> KeyNames(const std::string& member) {
    const auto r = Client(member).Request("GET", "/api/v1/keys?consistent=true", "", kAdmin);
    EXPECT_EQ(r.status, 200) << r.body;
    const json body = r.Json();
    std::set<std::string> out;
    for (const auto& k : body["keys"]) out.insert(k["name"].get<std::string>());
    return out;
  }

  void ExpectEveryWriteAcknowledgedAndAppliedOnce(const KeyWriter& writer) {
    const auto failures = writer.Failures();
    EXPECT_TRUE(failures.empty()) << failures.size() << " writes failed, the first: " << failures.front();
    for (const auto& [name, m] : members_) {
      EXPECT_EQ(KeyNames(name), writer.AcknowledgedNames()) << name;
    }
  }

  testsupport::HttpResponse Transfer(const std::string& at, const std::string& target) {
    return Client(at).Request("POST", "/admin/transfer-leadership", json{{"target", target}}.dump(), kAdmin);
  }

  testsupport::HttpResponse CreateKey(const std::string& at, const std::string& name, const std::string& key) {
    return Client(at).Request("POST", "/api/v1/keys", json{{"name", name}}.dump(), AdminWithKey(key));
  }
};

TEST_F(Lifecycle, LeadershipTransfersUnderWritesCostNoWriteAnError) {
  WaitFullyFormed();
  KeyWriter writer(HttpPorts(), {"node1", "node2", "node3"});
  ASSERT_TRUE(writer.Progresses(5));
  for (int round = 0; round < 6; ++round) {
    const std::string leader = WaitLeader();
    const std::string next = Others(leader)[static_cast<std::size_t>(round) % 2];
    const auto moved = Transfer(leader, next);
    ASSERT_EQ(moved.status, 200) << moved.body;
    EXPECT_EQ(WaitLeader(), next);
    ASSERT_TRUE(writer.Progresses(5)) << "writes stopped after the transfer to " << next;
  }
  writer.Stop();
  ExpectEveryWriteAcknowledgedAndAppliedOnce(writer);
}

// The writes go to the two members that stay: the killed leader's own clients lose their
// connection, which no server can help. Writes forwarded to it when it died, and those sent during
// the election, are held and proposed again to the new leader.
TEST_F(Lifecycle, KillNineOfTheLeaderUnderWritesCostsTheOtherMembersClientsNoError) {
  WaitFullyFormed();
  const std::string leader = WaitLeader();
  KeyWriter writer(HttpPorts(), Others(leader));
  ASSERT_TRUE(writer.Progresses(10));
  members_.at(leader).process->Signal(SIGKILL);
  ASSERT_TRUE(members_.at(leader).process->WaitExit(5s).has_value());
  frozen_.insert(leader);
  EXPECT_NE(WaitLeader(), leader);
  ASSERT_TRUE(writer.Progresses(10)) << "writes did not resume under the new leader";
  writer.Stop();
  frozen_.erase(leader);
  Start(leader);  // back from its data directory, as itself
  WaitFullyFormed();
  ExpectEveryWriteAcknowledgedAndAppliedOnce(writer);
}

TEST_F(Lifecycle, ARetryWithTheSameIdempotencyKeyTakesEffectOnceAndAnswersAlike) {
  WaitFullyFormed();
  const std::string leader = WaitLeader();
  const auto others = Others(leader);

  // A key created twice, through two different members: one key, the same id and secret.
  const auto first = CreateKey(others[0], "ci", "create-ci-1");
  ASSERT_EQ(first.status, 201) << first.body;
  const auto retry = CreateKey(others[1], "ci", "create-ci-1");
  ASSERT_EQ(retry.status, 201) << retry.body;
  EXPECT_EQ(retry.Json()["id"], first.Json()["id"]);
  EXPECT_EQ(retry.Json()["key"], first.Json()["key"]) << "the retry answers the secret that works";
  EXPECT_EQ(KeyNames(leader), std::set<std::string>{"ci"});
  const auto with_secret = Client(leader).Request(
      "GET", "/api/v1/config", "", {{"Authorization", "Bearer " + first.Json()["key"].get<std::string>()}});
  EXPECT_EQ(with_secret.status, 200) << with_secret.body;
  // Without the key, the same request is a second creation: refused, the name is taken.
  EXPECT_EQ(Client(leader).Request("POST", "/api/v1/keys", json{{"name", "ci"}}.dump(), kAdmin).status, 409);

  // The same key for another request: refused, nothing created.
  const auto reused = CreateKey(leader, "other", "create-ci-1");
  EXPECT_EQ(reused.status, 422) << reused.body;
  EXPECT_EQ(reused.Json()["code"], "idempotency_key_reused");
  EXPECT_EQ(KeyNames(leader), std::set<std::string>{"ci"});

  // A configuration write replayed after a later one does not undo it.
  const auto patch = json{{"max_pixels", 5000}}.dump();
  ASSERT_EQ(Client(others[0]).Request("PUT", "/api/v1/config", patch, AdminWithKey("cfg-1")).status, 200);
  ASSERT_EQ(PutConfig(others[1], {{"max_pixels", 6000}}).status, 200);
  const auto replayed = Client(others[1]).Request("PUT", "/api/v1/config", patch, AdminWithKey("cfg-1"));
  EXPECT_EQ(replayed.status, 200) << replayed.body;
  for (const auto& [name, m] : members_) {
    EXPECT_EQ(Client(name).Request("GET", "/api/v1/config?consistent=true", "", kAdmin).Json()["config"]["max_pixels"], 6000)
        << name;
  }

  // A delete retried after it succeeded answers as the first did; without the key, 404.
  const std::string id = first.Json()["id"];
  const auto deleted = Client(others[0]).Request("DELETE", "/api/v1/keys/" + id, "", AdminWithKey("del-ci"));
  EXPECT_EQ(deleted.status, 204) << deleted.body;
  const auto deleted_again = Client(others[1]).Request("DELETE", "/api/v1/keys/" + id, "", AdminWithKey("del-ci"));
  EXPECT_EQ(deleted_again.status, 204) << deleted_again.body;
  EXPECT_EQ(Client(leader).Request("DELETE", "/api/v1/keys/" + id, "", kAdmin).status, 404);

  const auto malformed = Client(leader).Request("PUT", "/api/v1/config", patch, AdminWithKey(std::string(256, 'k')));
  EXPECT_EQ(malformed.status, 400) << malformed.body;
  EXPECT_EQ(malformed.Json()["field"], "Idempotency-Key");
}

TEST_F(Lifecycle, ADrainingLeaderHandsOverTurnsUnreadyAndKeepsServing) {
  WaitFullyFormed();
  const std::string leader = WaitLeader();
  EXPECT_EQ(Client(leader).Request("POST", "/admin/drain").status, 401) << "an admin route";
  const auto drained = Client(leader).Request("POST", "/admin/drain", "", kAdmin);
  ASSERT_EQ(drained.status, 200) << drained.body;
  EXPECT_EQ(drained.Json()["status"], "draining");
  // Answered once the successor leads: no election in between.
  EXPECT_NE(WaitLeader(), leader);
  const auto ready = Client(leader).Request("GET", "/readyz");
  EXPECT_EQ(ready.status, 503);
  EXPECT_NE(ready.Json()["detail"].get<std::string>().find("draining"), std::string::npos) << ready.body;
  // Still serving: reads, forwarded writes.
  EXPECT_EQ(PutConfig(leader, {{"max_pixels", 7000}}).status, 200);
  EXPECT_EQ(Client(leader).Request("GET", "/api/v1/config?consistent=true").Json()["config"]["max_pixels"], 7000);
  EXPECT_EQ(CreateKey(leader, "after-drain", "after-drain-1").status, 201);
  for (const std::string& other : Others(leader)) {
    EXPECT_EQ(Client(other).Request("GET", "/readyz").status, 200) << other << ": only the drained member is unready";
  }
}

// The operator's scale-in: drain a follower, then remove it. The leader no longer talks to a member
// it removed, which may never learn of it; a write that still reaches it (a client's stale address)
// is answered 503 member_leaving once it knows no leader, not held until the request timeout
// (504), and the client's retry elsewhere with the same key takes effect once.
TEST_F(Lifecycle, ADrainedMemberThatWasRemovedSendsWritesElsewhere) {
  WaitFullyFormed();
  const std::string leader = WaitLeader();
  const std::string leaving = Others(leader).front();
  ASSERT_EQ(Client(leaving).Request("POST", "/admin/drain", "", kAdmin).status, 200);
  const auto removed = Client(leader).Request("POST", "/admin/members",
                                              json{{"action", "remove"}, {"name", leaving}}.dump(), kAdmin);
  ASSERT_EQ(removed.status, 200) << removed.body;

  const json patch = {{"max_pixels", 9100}};
  const auto at_leaving = Client(leaving).Request("PUT", "/api/v1/config", patch.dump(), AdminWithKey("stale-route-1"));
  ASSERT_EQ(at_leaving.status, 503) << at_leaving.body;
  EXPECT_EQ(at_leaving.Json()["code"], "member_leaving");
  const auto retried = Client(leader).Request("PUT", "/api/v1/config", patch.dump(), AdminWithKey("stale-route-1"));
  EXPECT_EQ(retried.status, 200) << retried.body;
  EXPECT_EQ(Config(leader)["config"]["max_pixels"], 9100);
}

// `stego-worker --pre-stop` as the kubelet runs it: the container's environment, no arguments.
TEST_F(Lifecycle, ThePreStopHookDrainsItsWorkerAndReturnsAfterTheWindow) {
  WaitFullyFormed();
  const std::string leader = WaitLeader();
  const auto hook = [&](std::uint16_t port, int drain_ms) {
    return std::make_unique<ProcessUnderTest>(ProcessUnderTest::Options{
        .binary = STEGO_WORKER_BINARY,
        .args = {"--pre-stop"},
        .env = {{"STEGO_HTTP", "127.0.0.1:" + std::to_string(port)},
                {"STEGO_ADMIN_KEY", kAdminKey},
                {"STEGO_DRAIN_MS", std::to_string(drain_ms)}},
        .wait_listening = false});
  };
  const auto started = Clock::now();
  auto drain = hook(members_.at(leader).http_port, 1500);
  EXPECT_EQ(drain->WaitExit(30s), 0) << drain->Output();
  EXPECT_GE(Clock::now() - started, 1500ms) << "it returns only after the drain window";
  EXPECT_NE(WaitLeader(), leader);
  EXPECT_EQ(Client(leader).Request("GET", "/readyz").status, 503);
  EXPECT_EQ(PutConfig(leader, {{"max_pixels", 7001}}).status, 200) << "serving until SIGTERM";

  // Nobody to drain: the hook says so, waits the window all the same and fails (the kubelet
  // records the failure and goes on with the termination).
  auto nobody = hook(testsupport::FreeLoopbackPort(), 200);
  EXPECT_EQ(nobody->WaitExit(30s), 1) << nobody->Output();
  EXPECT_NE(nobody->Output().find("answered nothing"), std::string::npos) << nobody->Output();
}

TEST_F(Lifecycle, ATransferToALaggingUnknownOrSelfTargetIsAnsweredClearly) {
  WaitFullyFormed();
  const std::string leader = WaitLeader();
  const std::string cut_off = Others(leader)[0];
  ASSERT_EQ(Client(cut_off).Request("POST", "/admin/fail", R"({"action": "isolate"})", kAdmin).status, 200);
  // Once the leader has noticed that it stopped answering (within an election timeout or two; a
  // try before that waits for a takeover that cannot happen, and times out).
  testsupport::HttpResponse lagging;
  EXPECT_TRUE(Eventually([&] {
    lagging = Transfer(leader, cut_off);
    return lagging.status == 409;
  }, 30s)) << lagging.status << " " << lagging.body;
  EXPECT_EQ(lagging.Json()["code"], "transfer_target_lagging");
  EXPECT_EQ(RaftStatus(leader)["role"], "leader") << "a refused transfer leaves the leader in place";
  const auto unknown = Transfer(leader, "nobody");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(unknown.Json()["code"], "transfer_invalid");
  const auto self = Transfer(leader, leader);
  EXPECT_EQ(self.status, 200) << self.body;
  EXPECT_EQ(self.Json()["leader_id"], leader);
  ASSERT_EQ(Client(cut_off).Request("POST", "/admin/restore", "", kAdmin).status, 200);
}

}  // namespace
