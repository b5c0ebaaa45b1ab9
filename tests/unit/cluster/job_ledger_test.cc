// The job ledger as a state section, driven through ClusterState without Raft (batches, the
// retention key, lookups, malformed records, snapshots), and the JobRecorder's batching, retries
// and bounded buffer against a fake proposer that applies to a ClusterState.
#include "worker/cluster/job_ledger.h"

#include <gtest/gtest.h>

#include "tests/unit/cluster/heard.h"

#include <chrono>
#include <future>
#include <mutex>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "tests/support/test_helpers.h"
#include "worker/cluster/cluster_state.h"
#include "worker/cluster/job_recorder.h"

namespace cluster {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

JobRecord Job(std::string id, std::string error = "") {
  return JobRecord{.id = std::move(id),
                   .kind = "embed",
                   .member = "node1",
                   .started_at_ms = 1'700'000'000'000,
                   .duration_ms = 12,
                   .input_bytes = 300,
                   .output_bytes = 4000,
                   .http_status = error.empty() ? 200 : 422,
                   .error = std::move(error)};
}

std::vector<std::string> NewestIds(const ClusterState& state, std::size_t limit = 100) {
  std::vector<std::string> ids;
  for (const auto& job : state.jobs().Newest(limit)) ids.push_back(job.id);
  return ids;
}

TEST(JobLedgerTest, ABatchIsAppendedInOrderAndFoundById) {
  ClusterState state(nullptr);
  const std::string heard1 = Heard(state.ApplyCommand(1, EncodeJobBatch({Job("a"), Job("b", "no_payload"), Job("c")})));
  EXPECT_EQ(heard1, "");
  EXPECT_EQ(NewestIds(state), (std::vector<std::string>{"c", "b", "a"}));
  EXPECT_EQ(NewestIds(state, 2), (std::vector<std::string>{"c", "b"}));
  EXPECT_EQ(state.jobs().Find("b"), Job("b", "no_payload"));
  EXPECT_FALSE(state.jobs().Find("d"));
}

TEST(JobLedgerTest, RecordsTravelAsTheApiShowsThem) {
  const json ok = JobJson(Job("a"));
  EXPECT_EQ(ok["status"], "ok");
  EXPECT_FALSE(ok.contains("error"));
  EXPECT_EQ(ok["started_at"], 1'700'000'000'000);
  const json failed = JobJson(Job("b", "wrong_password"));
  EXPECT_EQ(failed["status"], "error");
  EXPECT_EQ(failed["error"], "wrong_password");
  EXPECT_EQ(failed["http_status"], 422);
  EXPECT_EQ(JobFromJson(failed), Job("b", "wrong_password"));
}

TEST(JobLedgerTest, OnlyTheNewestJobRetentionRecordsAreKept) {
  ClusterState state(nullptr);
  state.Apply(1, EncodeConfigPatch({{"job_retention", 3}}));
  state.Apply(2, EncodeJobBatch({Job("a"), Job("b")}));
  state.Apply(3, EncodeJobBatch({Job("c"), Job("d"), Job("e")}));
  EXPECT_EQ(NewestIds(state), (std::vector<std::string>{"e", "d", "c"}));
  EXPECT_FALSE(state.jobs().Find("a"));
  EXPECT_FALSE(state.jobs().Find("b"));

  // Lowering the retention takes effect when the configuration changes, not at the next batch.
  state.Apply(4, EncodeConfigPatch({{"job_retention", 1}}));
  EXPECT_EQ(NewestIds(state), (std::vector<std::string>{"e"}));
  EXPECT_FALSE(state.jobs().Find("d"));
}

TEST(JobLedgerTest, TheDefaultRetentionIsTenThousand) {
  ClusterState state(nullptr);
  EXPECT_EQ(state.config().view().job_retention, 10'000u);
  std::vector<JobRecord> batch;
  for (int i = 0; i < 10'005; ++i) batch.push_back(Job("j" + std::to_string(i)));
  state.Apply(1, EncodeJobBatch(batch));
  EXPECT_EQ(state.jobs().size(), 10'000u);
  EXPECT_FALSE(state.jobs().Find("j4"));
  EXPECT_TRUE(state.jobs().Find("j5"));
}

TEST(JobLedgerTest, AReusedIdFindsTheNewestRecordEvenAfterTheOlderOneIsDropped) {
  ClusterState state(nullptr);
  state.Apply(1, EncodeConfigPatch({{"job_retention", 2}}));
  JobRecord again = Job("r");
  again.member = "node2";
  state.Apply(2, EncodeJobBatch({Job("r"), again}));
  EXPECT_EQ(state.jobs().Find("r")->member, "node2");
  state.Apply(3, EncodeJobBatch({Job("x")}));  // drops the first "r"
  ASSERT_TRUE(state.jobs().Find("r"));
  EXPECT_EQ(state.jobs().Find("r")->member, "node2");
  state.Apply(4, EncodeJobBatch({Job("y")}));  // drops the second
  EXPECT_FALSE(state.jobs().Find("r"));
}

TEST(JobLedgerTest, ABatchProposedTwiceCountsItsJobsOnce) {
  ClusterState state(nullptr);
  const std::string batch = EncodeJobBatch({Job("a"), Job("b")});
  state.Apply(1, batch);
  state.Apply(2, batch);  // the proposer timed out and retried, but the first one had committed
  EXPECT_EQ(NewestIds(state), (std::vector<std::string>{"b", "a"}));
}

TEST(JobLedgerTest, MalformedRecordsAreSkippedAndTheRestApplied) {
  ClusterState state(nullptr);
  const json good = JobJson(Job("good"));
  // `good` with one field changed (null: removed), under its own id.
  auto but = [&](const std::string& key, const json& value) {
    json j = good;
    j["id"] = "bad-" + key;
    if (value.is_null()) {
      j.erase(key);
    } else {
      j[key] = value;
    }
    return j;
  };
  json failed_without_code = JobJson(Job("bad-failed", "no_payload"));
  failed_without_code.erase("error");
  const json jobs = json::array({good, "not an object", but("kind", nullptr), but("member", ""),
                                 but("started_at", -5), but("input_bytes", "300"), but("output_bytes", 1.5),
                                 but("http_status", 42), but("status", "maybe"),
                                 but("error", "no_payload"),  // an ok job with an error code
                                 failed_without_code, but("id", std::string(129, 'x')), JobJson(Job("last"))});
  const std::string heard1 = Heard(state.ApplyCommand(1, EncodeCommand({{"op", "append_jobs"}, {"jobs", jobs}})));
  EXPECT_EQ(heard1, "");
  EXPECT_EQ(NewestIds(state), (std::vector<std::string>{"last", "good"}));

  const std::string heard2 = Heard(state.ApplyCommand(2, EncodeCommand({{"op", "append_jobs"}, {"jobs", "none"}})));
  const std::string heard3 = Heard(state.ApplyCommand(3, EncodeCommand({{"op", "append_jobs"}})));
  EXPECT_NE(heard2, "");
  EXPECT_NE(heard3, "");
  EXPECT_EQ(state.jobs().size(), 2u);
}

TEST(JobLedgerTest, ASnapshotCarriesTheRecordsAndTheirOrder) {
  ClusterState a(nullptr);
  a.Apply(1, EncodeConfigPatch({{"job_retention", 3}}));
  a.Apply(2, EncodeJobBatch({Job("a"), Job("b", "capacity_exceeded"), Job("a2")}));

  ClusterState b(nullptr);
  ASSERT_TRUE(b.Restore(2, a.Snapshot()));
  EXPECT_EQ(NewestIds(b), NewestIds(a));
  EXPECT_EQ(b.jobs().Find("b"), a.jobs().Find("b"));
  EXPECT_EQ(b.Snapshot(), a.Snapshot());
  // Both go on alike: the restored ledger's bookkeeping is whole.
  for (ClusterState* s : {&a, &b}) s->Apply(3, EncodeJobBatch({Job("c")}));
  EXPECT_EQ(NewestIds(b), (std::vector<std::string>{"c", "a2", "b"}));
  EXPECT_EQ(b.Snapshot(), a.Snapshot());

  ClusterState empty(nullptr);
  ASSERT_TRUE(b.Restore(4, empty.Snapshot()));
  EXPECT_EQ(b.jobs().size(), 0u);
}

// Applies what the recorder commits to a ClusterState, as Raft would once committed; fails the
// next `failures` commits first (no leader).
class FakeRaft {
 public:
  JobRecorder::Commit Committer() {
    return [this](std::string command, const std::function<bool()>&) {
      std::lock_guard lk(mu_);
      if (failures_ > 0) {
        --failures_;
        return false;
      }
      const bool applied = state.ApplyCommand(next_++, command).has_value();
      ++proposals_;
      return applied;
    };
  }
  void FailNext(int n) {
    std::lock_guard lk(mu_);
    failures_ = n;
  }
  int proposals() {
    std::lock_guard lk(mu_);
    return proposals_;
  }

  ClusterState state{nullptr};

 private:
  std::mutex mu_;
  raft::Index next_ = 1;
  int failures_ = 0;
  int proposals_ = 0;
};

double Dropped(common::Metrics& metrics) { return metrics.GetCounter("stego_job_records_dropped_total", "").Value(); }

TEST(JobRecorderTest, AFullBatchGoesAtOnceAndTheRestAfterAnInterval) {
  FakeRaft raft;
  common::Metrics metrics;
  JobRecorder recorder({.member = "node2", .batch = 3, .interval = 1s}, raft.Committer(), metrics);
  for (const char* id : {"a", "b", "c", "d"}) recorder.Record(Job(id));
  ASSERT_TRUE(testsupport::Eventually([&] { return raft.state.jobs().size() >= 3; }, 500ms))
      << "a full batch waits for nothing";
  EXPECT_EQ(raft.state.jobs().size(), 3u);
  ASSERT_TRUE(testsupport::Eventually([&] { return raft.state.jobs().size() == 4; }, 3s));
  EXPECT_EQ(raft.proposals(), 2);
  EXPECT_EQ(NewestIds(raft.state), (std::vector<std::string>{"d", "c", "b", "a"}));
  EXPECT_EQ(raft.state.jobs().Find("a")->member, "node2") << "the recorder names its member";
  EXPECT_EQ(Dropped(metrics), 0);
}

TEST(JobRecorderTest, AFailedProposalKeepsItsBatchAndIsRetried) {
  FakeRaft raft;
  common::Metrics metrics;
  raft.FailNext(3);
  JobRecorder recorder({.member = "node1", .interval = 20ms}, raft.Committer(), metrics);
  recorder.Record(Job("a"));
  recorder.Record(Job("b"));
  ASSERT_TRUE(testsupport::Eventually([&] { return raft.state.jobs().size() == 2; }, 2s));
  recorder.Record(Job("c"));
  ASSERT_TRUE(testsupport::Eventually([&] { return raft.state.jobs().size() == 3; }, 2s));
  EXPECT_EQ(NewestIds(raft.state), (std::vector<std::string>{"c", "b", "a"}));
  EXPECT_EQ(Dropped(metrics), 0);
}

TEST(JobRecorderTest, AFullBufferDropsTheOldestAndCountsThem) {
  FakeRaft raft;
  common::Metrics metrics;
  // Nothing is proposed before Stop: the batch is never full and the interval never ends.
  JobRecorder recorder({.member = "node1", .capacity = 3, .batch = 100, .interval = 1h}, raft.Committer(), metrics);
  for (const char* id : {"a", "b", "c", "d", "e"}) recorder.Record(Job(id));
  EXPECT_EQ(Dropped(metrics), 2);
  recorder.Stop();  // flushes what is left
  EXPECT_EQ(NewestIds(raft.state), (std::vector<std::string>{"e", "d", "c"}));
  recorder.Record(Job("late"));
  EXPECT_EQ(Dropped(metrics), 3) << "a record after Stop is lost, and counted";
}

TEST(JobRecorderTest, StopGivesUpAtItsDeadlineWhenNoProposalSucceeds) {
  FakeRaft raft;
  common::Metrics metrics;
  raft.FailNext(1'000'000);
  JobRecorder recorder({.member = "node1", .interval = 20ms}, raft.Committer(), metrics);
  recorder.Record(Job("a"));
  recorder.Record(Job("b"));
  const auto start = std::chrono::steady_clock::now();
  recorder.Stop(150ms);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_EQ(Dropped(metrics), 2);
  EXPECT_EQ(raft.state.jobs().size(), 0u);
}

}  // namespace
}  // namespace cluster
