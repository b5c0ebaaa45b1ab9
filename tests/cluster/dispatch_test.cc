// Leader dispatch (worker/cluster/dispatcher.h) with three real members: the leader places each
// upload job on the least-loaded member, a follower called directly computes itself, a member
// killed in the middle of jobs costs no client a failed request, and a member behind the log
// never answers a job with stale state.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "tests/cluster/cluster_fixture.h"
#include "tests/support/prometheus_text.h"

namespace {

using namespace clustertest;

testsupport::MultipartBuilder EmbedForm(const std::string& message) {
  testsupport::MultipartBuilder form;
  form.Field("message", message);
  return form;
}

testsupport::HttpResponse Embed(HttpClient& client, const std::string& message) {
  return client.PostMultipart("/api/v1/embed", EmbedForm(message), {{"Accept", "application/json"}});
}

std::string Extracted(HttpClient& client, const json& embed_answer) {
  testsupport::MultipartBuilder form;
  form.File("file", "stego.png", "image/png", testsupport::FromBase64(embed_answer["stego_image_b64"].get<std::string>()));
  const auto r = client.PostMultipart("/api/v1/extract", form, {{"Accept", "application/json"}});
  return r.status == 200 ? testsupport::FromBase64(r.Json()["data_b64"].get<std::string>()) : "(status " + std::to_string(r.status) + ")";
}

double MetricOf(HttpClient& client, const std::string& name, const std::map<std::string, std::string>& labels = {}) {
  std::string error;
  auto text = testsupport::ParsePromText(client.Get("/metrics").body, &error);
  return text ? text->Value(name, labels).value_or(0) : -1;
}

class Dispatch : public Cluster {};

TEST_F(Dispatch, TheLeaderSpreadsJobsOverEveryMemberAndAnswersAreComplete) {
  WaitFullyFormed();
  const std::string leader = WaitLeader();
  HttpClient client = Client(leader);
  std::map<std::string, int> ran_on;
  // Idle members are equals and take turns, so even one client at a time reaches all three (the
  // leader needs a load beat from each first, hence the retries).
  ASSERT_TRUE(Eventually([&] {
    const auto r = Embed(client, "spread " + std::to_string(ran_on.size()));
    EXPECT_EQ(r.status, 200) << r.body;
    ++ran_on[r.Header("X-Stego-Member").value_or("(none)")];
    return ran_on.size() == 3;
  }, 20s)) << "jobs ran on only " << ran_on.size() << " members";
  EXPECT_FALSE(ran_on.count("(none)"));

  // A relayed answer is the job's whole answer: the image extracts to the message, wherever the
  // embed and the extract each ran.
  for (int i = 0; i < 6; ++i) {
    const std::string message = "relayed message " + std::to_string(i);
    const auto r = Embed(client, message);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.Json()["request_id"], r.Header("X-Request-Id").value_or(""));
    EXPECT_EQ(Extracted(client, r.Json()), message);
  }
  EXPECT_GT(MetricOf(client, "stego_dispatch_total", {{"placed", "member"}}), 0);
}

TEST_F(Dispatch, AFollowerCalledDirectlyComputesItself) {
  WaitFullyFormed();
  const std::string leader = WaitLeader();
  for (const auto& [name, m] : members_) {
    if (name == leader) continue;
    HttpClient client = Client(name);
    for (int i = 0; i < 3; ++i) {
      const auto r = Embed(client, "direct");
      ASSERT_EQ(r.status, 200) << r.body;
      EXPECT_EQ(r.Header("X-Stego-Member"), name);
    }
  }
}

// Bad input is the job's answer, relayed as it is, not a member failure retried elsewhere.
TEST_F(Dispatch, AClientErrorIsRelayedNotRetried) {
  WaitFullyFormed();
  HttpClient client = Client(WaitLeader());
  testsupport::MultipartBuilder form;
  form.File("file", "stego.png", "image/png", "not an image");
  for (int i = 0; i < 6; ++i) {
    const auto r = client.PostMultipart("/api/v1/extract", form);
    EXPECT_EQ(r.status, 415) << r.body;
    EXPECT_TRUE(r.Json().contains("code")) << r.body;
  }
  EXPECT_EQ(MetricOf(client, "stego_dispatch_member_failures_total"), 0);
}

// A follower killed with jobs in flight on it: the leader tries each of those jobs again on
// another member, so every client request still succeeds.
TEST_F(Dispatch, AMemberKilledMidJobCostsNoClientAFailedRequest) {
  WaitFullyFormed();
  const std::string leader = WaitLeader();
  const std::string victim = Follower(leader);
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0};
  std::mutex mu;
  std::vector<std::string> failures;
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&, c] {
      HttpClient client = Client(leader);
      while (!stop) {
        const auto r = Embed(client, "under fire " + std::to_string(c));
        if (r.status == 200) {
          ++ok;
        } else {
          std::lock_guard lk(mu);
          failures.push_back(std::to_string(r.status) + " " + r.body);
        }
      }
    });
  }
  HttpClient observer = Client(leader);
  // Kill the victim while a job runs on it (its own count, the load it reports on its peer port,
  // says so), so that the leader must run that job again elsewhere. The job may still end in the
  // instant between that answer and the kill, on a busy machine too: then the victim is started
  // again on its data and caught again.
  HttpClient victim_peer(members_.at(victim).host, members_.at(victim).peer_port, 10s);
  auto running_on_victim = [&] {
    const auto r = victim_peer.Get("/raft/v1/load", {{"Authorization", "Bearer " + kSecret}});
    return r.status == 200 && r.Json().value("in_flight", 0) > 0;
  };
  for (int kills = 0; kills < 3 && MetricOf(observer, "stego_dispatch_member_failures_total") == 0; ++kills) {
    if (kills > 0) {
      frozen_.erase(victim);
      Start(victim);
      WaitFullyFormed();
    }
    ASSERT_TRUE(Eventually([&] { return ok > 8 && running_on_victim(); }, 30s)) << "no job ran on " << victim;
    members_.at(victim).process->Signal(SIGKILL);
    members_.at(victim).process->WaitExit(5s);
    frozen_.insert(victim);
    const int at_kill = ok;
    ASSERT_TRUE(Eventually([&] { return ok > at_kill + 12; }, 60s)) << "jobs stopped after the kill";
  }
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_TRUE(failures.empty()) << failures.size() << " failed, first: " << failures.front();
  EXPECT_GT(MetricOf(observer, "stego_dispatch_member_failures_total"), 0)
      << "no job was in flight on the victim in three kills: the retry path was not exercised";
}

// A member cut off from Raft traffic still answers load beats, but falls behind: the leader stops
// placing jobs there (its beat shows it behind), and a job that reaches it anyway is refused as
// "behind" and run elsewhere. No answer ever reflects the stale state.
TEST_F(Dispatch, AMemberBehindTheLogGetsNoJobs) {
  WaitFullyFormed();
  const std::string leader = WaitLeader();
  const std::string isolated = Follower(leader);
  ASSERT_EQ(Client(isolated).Request("POST", "/admin/fail", R"({"action": "isolate"})", kAdmin).status, 200);
  HttpClient client = Client(leader);
  for (int bits = 2; bits <= 4; ++bits) {
    // Enough writes to leave the isolated member well behind.
    for (int i = 0; i < 10; ++i) ASSERT_EQ(PutConfig(leader, {{"default_lsb_bits", bits}}).status, 200);
    for (int i = 0; i < 6; ++i) {
      const auto r = Embed(client, "behind");
      ASSERT_EQ(r.status, 200) << r.body;
      EXPECT_EQ(r.Json()["cover_info"]["lsb_per_channel"], bits);
      EXPECT_NE(r.Header("X-Stego-Member"), isolated);
    }
  }
  ASSERT_EQ(Client(isolated).Request("POST", "/admin/restore", "", kAdmin).status, 200);
  // Healed, it catches up and takes jobs again.
  std::set<std::string> ran_on;
  ASSERT_TRUE(Eventually([&] {
    const auto r = Embed(client, "healed");
    EXPECT_EQ(r.status, 200) << r.body;
    ran_on.insert(r.Header("X-Stego-Member").value_or("?"));
    return ran_on.count(isolated) > 0;
  }, 20s));
}

}  // namespace
