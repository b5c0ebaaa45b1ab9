// The replicated job ledger on three real members: every member's jobs are found on every member
// by the request_id of their answer, failures carry their error code, the listing is newest first
// and bounded by ?limit, and lowering job_retention drops the oldest records everywhere.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <string>
#include <vector>

#include "tests/cluster/cluster_fixture.h"

namespace {

using namespace clustertest;
using testsupport::MultipartBuilder;

class Jobs : public Cluster {
 protected:
  // What a client saw of one job.
  struct Done {
    std::string id{};      // the answer's request id
    std::string member{};  // where it ran: the dispatcher names it, else the member asked
    std::size_t input_bytes = 0;
    std::size_t output_bytes = 0;
    int status = 0;
    std::string code{};  // of an error answer
  };

  Done Run(const std::string& via, const std::string& path, const MultipartBuilder& form) {
    const auto answer = Client(via).PostMultipart(path, form);
    Done done{.id = answer.Header("X-Request-Id").value_or(""),
              .member = answer.Header("X-Stego-Member").value_or(via),
              .input_bytes = form.Body().size(),
              .output_bytes = answer.body.size(),
              .status = answer.status};
    if (answer.status >= 400) done.code = answer.Json()["code"].get<std::string>();
    EXPECT_FALSE(done.id.empty());
    return done;
  }

  Done Embed(const std::string& via, const std::string& message = "meet at noon") {
    const Done done = Run(via, "/api/v1/embed", MultipartBuilder().Field("message", message));
    EXPECT_EQ(done.status, 200);
    return done;
  }

  // The job's record as `on` serves it, once it has arrived there (records land in batches).
  json Record(const std::string& on, const std::string& id) {
    testsupport::HttpResponse answer;
    EXPECT_TRUE(Eventually([&] { return (answer = Client(on).Get("/api/v1/jobs/" + id)).status == 200; }))
        << on << " never found job " << id << ": " << answer.status << " " << answer.body;
    return answer.status == 200 ? answer.Json() : json();
  }

  // A job whose record is in the ledger before the next one starts, so the ledger's order is ours.
  Done EmbedAndWait(const std::string& via) {
    Done done = Embed(via);
    Record(via, done.id);
    return done;
  }

  std::vector<std::string> ListedIds(const std::string& on, const std::string& query) {
    const auto answer = Client(on).Get("/api/v1/jobs" + query);
    EXPECT_EQ(answer.status, 200) << answer.body;
    const json body = answer.Json();
    std::vector<std::string> ids;
    for (const auto& job : body["jobs"]) ids.push_back(job["id"].get<std::string>());
    return ids;
  }
};

TEST_F(Jobs, JobsOfEveryMemberAreFoundOnEveryMemberWithWhoRanThemAndTheirSizes) {
  WaitFullyFormed();
  const auto before = std::chrono::system_clock::now();
  std::vector<std::pair<std::string, Done>> done;  // kind, job
  for (const auto& [name, m] : members_) done.emplace_back("embed", Embed(name, "from " + name));
  done.emplace_back("capacity", Run("node3", "/api/v1/capacity", MultipartBuilder().Field("lsb_bits", "2")));
  done.emplace_back("embed", Run("node2", "/api/embed", MultipartBuilder().Field("message", "compat")));
  const auto after = std::chrono::system_clock::now();
  const auto ms = [](auto t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  };

  for (const auto& [name, m] : members_) {
    for (const auto& [kind, job] : done) {
      const json r = Record(name, job.id);
      EXPECT_EQ(r["id"], job.id);
      EXPECT_EQ(r["kind"], kind) << job.id;
      EXPECT_EQ(r["member"], job.member) << job.id;
      EXPECT_EQ(r["input_bytes"], job.input_bytes) << job.id;
      EXPECT_EQ(r["output_bytes"], job.output_bytes) << job.id;
      EXPECT_EQ(r["status"], "ok") << job.id;
      EXPECT_EQ(r["http_status"], 200) << job.id;
      EXPECT_FALSE(r.contains("error")) << job.id;
      EXPECT_GE(r["started_at"].get<std::int64_t>(), ms(before) - 1) << job.id;
      EXPECT_LE(r["started_at"].get<std::int64_t>(), ms(after) + 1) << job.id;
      EXPECT_GE(r["duration_ms"].get<std::int64_t>(), 0) << job.id;
    }
  }
  const auto unknown = Client("node1").Get("/api/v1/jobs/no-such-job?consistent=true");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.Json()["code"], "no_such_job");
  EXPECT_NE(Client("node1").Get("/metrics").body.find("stego_job_records_dropped_total 0"), std::string::npos);
}

TEST_F(Jobs, AFailedJobIsRecordedWithItsStatusAndErrorCode) {
  WaitFullyFormed();
  // A plain image carries no payload; a form without the image is refused before any work.
  const std::string plain = Client("node1").Get("/api/v1/dataset/0").body;
  const Done empty = Run("node2", "/api/v1/extract", MultipartBuilder().File("file", "plain.png", "image/png", plain));
  const Done no_file = Run("node3", "/api/extract", MultipartBuilder().Field("password", "p"));
  ASSERT_EQ(empty.status, 422);
  ASSERT_EQ(no_file.status, 400);
  for (const Done& job : {empty, no_file}) {
    for (const auto& [name, m] : members_) {
      const json r = Record(name, job.id);
      EXPECT_EQ(r["kind"], "extract");
      EXPECT_EQ(r["member"], job.member);
      EXPECT_EQ(r["status"], "error");
      EXPECT_EQ(r["http_status"], job.status);
      EXPECT_EQ(r["error"], job.code);
      EXPECT_EQ(r["input_bytes"], job.input_bytes);
      EXPECT_EQ(r["output_bytes"], job.output_bytes);
    }
  }
}

TEST_F(Jobs, TheListingIsNewestFirstAndTakesALimit) {
  WaitFullyFormed();
  std::vector<std::string> ids;  // oldest first
  for (const char* via : {"node1", "node2", "node3", "node1", "node2"}) ids.push_back(EmbedAndWait(via).id);
  const std::vector<std::string> newest_first(ids.rbegin(), ids.rend());
  for (const auto& [name, m] : members_) {
    EXPECT_EQ(ListedIds(name, "?consistent=true"), newest_first) << name;
    EXPECT_EQ(ListedIds(name, "?limit=3"), std::vector<std::string>(newest_first.begin(), newest_first.begin() + 3))
        << name;
  }
  EXPECT_EQ(ListedIds("node2", "?limit=1000").size(), 5u);
  for (const char* bad : {"0", "1001", "-1", "x", "", "3x"}) {
    const auto answer = Client("node3").Get(std::string("/api/v1/jobs?limit=") + bad);
    EXPECT_EQ(answer.status, 400) << bad;
    EXPECT_EQ(answer.Json()["code"], "invalid_parameter") << bad;
    EXPECT_EQ(answer.Json()["field"], "limit") << bad;
  }
}

TEST_F(Jobs, LoweringJobRetentionDropsTheOldestRecordsEverywhere) {
  WaitFullyFormed();
  std::vector<std::string> ids;  // oldest first
  for (const char* via : {"node1", "node2", "node3", "node1"}) ids.push_back(EmbedAndWait(via).id);

  const auto lowered = PutConfig("node2", {{"job_retention", 2}});
  ASSERT_EQ(lowered.status, 200) << lowered.body;
  EXPECT_EQ(lowered.Json()["config"]["job_retention"], 2);
  for (const auto& [name, m] : members_) {
    EXPECT_EQ(ListedIds(name, "?consistent=true"), (std::vector<std::string>{ids[3], ids[2]})) << name;
    for (const std::string& dropped : {ids[0], ids[1]}) {
      EXPECT_EQ(Client(name).Get("/api/v1/jobs/" + dropped).status, 404) << name;
    }
  }
  // New records push the oldest kept one out.
  const std::string newest = EmbedAndWait("node3").id;
  for (const auto& [name, m] : members_) {
    EXPECT_TRUE(Eventually([&] { return ListedIds(name, "") == std::vector<std::string>{newest, ids[3]}; })) << name;
  }
}

TEST_F(Jobs, RecordsStillWaitingAtSigtermReachTheLedgerBeforeTheMemberExits) {
  WaitFullyFormed();
  const std::string leader = WaitLeader();
  const std::string follower = Follower(leader);
  // The last answers come back well within the recorder's 200 ms interval before the signal.
  std::vector<Done> done;
  for (int i = 0; i < 3; ++i) done.push_back(Embed(follower));
  auto& process = *members_.at(follower).process;
  process.Signal(SIGTERM);
  ASSERT_EQ(process.WaitExit(10s), 0);
  EXPECT_EQ(process.Output().find("dropped on stop"), std::string::npos) << process.Output();
  for (const Done& job : done) EXPECT_EQ(Record(leader, job.id)["member"], job.member);
}

TEST_F(Jobs, AStandaloneWorkerKeepsNoLedger) {
  testsupport::ProcessUnderTest solo({.binary = STEGO_WORKER_BINARY, .args = {"--http", "127.0.0.1:0"}});
  HttpClient client(solo.host(), solo.port());
  const auto embedded = client.PostMultipart("/api/v1/embed", MultipartBuilder().Field("message", "alone"));
  ASSERT_EQ(embedded.status, 200);
  const std::string id = embedded.Header("X-Request-Id").value_or("");
  for (const std::string& target : {"/api/v1/jobs/" + id, std::string("/api/v1/jobs")}) {
    const auto answer = client.Get(target);
    EXPECT_EQ(answer.status, 503) << target;
    EXPECT_EQ(answer.Json()["code"], "not_clustered") << target;
  }
}

}  // namespace
