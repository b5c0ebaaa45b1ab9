// Lease-based leader election and the event recorder against a real kube-apiserver.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "operator/kube/events.h"
#include "operator/kube/leader_election.h"
#include "tests/k8s/client/k8s_test_env.h"

namespace {

using kube::Json;
namespace res = kube::resources;

constexpr char kSuite[] = "controllers-test";
// The suite's namespace (set up by the fixture before any test runs).
const std::string& kNs = k8stest::NamespacedTest<kSuite>::ns();

using ControllersTest = k8stest::NamespacedTest<kSuite>;

// A candidate on its own thread and its own Client (a separate process in real life).
struct Candidate {
  Candidate(const std::string& lease, const std::string& identity, bool release_on_cancel) {
    client = k8stest::AdminClient();
    kube::LeaderElectionOptions options;
    options.ns = kNs;
    options.name = lease;
    options.identity = identity;
    options.lease_duration = std::chrono::seconds(3);
    options.renew_deadline = std::chrono::seconds(2);
    options.retry_period = std::chrono::milliseconds(300);
    options.release_on_cancel = release_on_cancel;
    elector = std::make_unique<kube::LeaderElector>(
        *client, options,
        kube::LeaderCallbacks{[this] { started = std::chrono::steady_clock::now(); ++starts; },
                              [this] { ++stops; }, {}});
    thread = std::jthread([this](std::stop_token stop) { elector->Run(stop); });
  }
  // Stops renewing at once, as a killed process would (without release, unless configured).
  void Kill() {
    thread.request_stop();
    thread.join();
  }
  std::unique_ptr<kube::Client> client;
  std::unique_ptr<kube::LeaderElector> elector;
  std::atomic<int> starts{0}, stops{0};
  std::chrono::steady_clock::time_point started;
  std::jthread thread;
};

Json Lease(kube::Client& client, const std::string& name) {
  auto lease = client.Get(res::kLeases, kNs, name);
  return lease ? *lease : Json();
}

TEST_F(ControllersTest, ASecondCandidateTakesOverWhenTheLeaderStopsRenewing) {
  Candidate a("crash-lease", "candidate-a", /*release_on_cancel=*/false);
  ASSERT_TRUE(k8stest::Eventually([&] { return a.elector->IsLeader(); }, std::chrono::seconds(10)));
  Candidate b("crash-lease", "candidate-b", false);
  std::this_thread::sleep_for(std::chrono::seconds(4));  // longer than the lease: a keeps renewing
  EXPECT_TRUE(a.elector->IsLeader());
  EXPECT_FALSE(b.elector->IsLeader());
  EXPECT_EQ(b.elector->ObservedLeader(), "candidate-a");

  const auto killed = std::chrono::steady_clock::now();
  a.Kill();
  ASSERT_TRUE(k8stest::Eventually([&] { return b.elector->IsLeader(); }, std::chrono::seconds(15)));
  // Not before the lease ran out (3 s from b's last sight of a renewal, which was at most 0.3 s before the kill).
  EXPECT_GE(b.started - killed, std::chrono::milliseconds(2500));
  const Json lease = Lease(*client_, "crash-lease");
  EXPECT_EQ(lease["spec"]["holderIdentity"], "candidate-b");
  EXPECT_EQ(lease["spec"]["leaseTransitions"], 1);
  EXPECT_EQ(b.starts, 1);
  b.Kill();
}

TEST_F(ControllersTest, ReleaseOnShutdownHandsOverWithoutWaitingForExpiry) {
  Candidate a("release-lease", "candidate-a", /*release_on_cancel=*/true);
  ASSERT_TRUE(k8stest::Eventually([&] { return a.elector->IsLeader(); }, std::chrono::seconds(10)));
  Candidate b("release-lease", "candidate-b", true);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const auto stopped = std::chrono::steady_clock::now();
  a.Kill();
  EXPECT_EQ(a.stops, 1);
  ASSERT_TRUE(k8stest::Eventually([&] { return b.elector->IsLeader(); }, std::chrono::seconds(10)));
  // A released lease has leaseDurationSeconds 1: far sooner than the 3 s expiry.
  EXPECT_LT(b.started - stopped, std::chrono::milliseconds(2500));
  b.Kill();
  EXPECT_EQ(Lease(*client_, "release-lease")["spec"].value("holderIdentity", "?"), "");
}

TEST_F(ControllersTest, ALeaderThatCannotRenewStopsLeading) {
  Candidate a("lost-lease", "candidate-a", true);
  ASSERT_TRUE(k8stest::Eventually([&] { return a.elector->IsLeader(); }, std::chrono::seconds(10)));
  // Another party takes the lease by force (as a successor would after a partition).
  Json lease = Lease(*client_, "lost-lease");
  lease["spec"]["holderIdentity"] = "usurper";
  lease["spec"]["leaseDurationSeconds"] = 60;
  lease["spec"]["renewTime"] = kube::FormatMicroTime(std::chrono::system_clock::now());
  ASSERT_TRUE(client_->Update(res::kLeases, kNs, lease));
  ASSERT_TRUE(k8stest::Eventually([&] { return a.stops == 1; }, std::chrono::seconds(10)));
  EXPECT_FALSE(a.elector->IsLeader());
  EXPECT_EQ(a.elector->ObservedLeader(), "usurper");
  a.Kill();
  EXPECT_EQ(Lease(*client_, "lost-lease")["spec"]["holderIdentity"], "usurper");  // not released: not ours
}

TEST_F(ControllersTest, EventsAreRecordedAndRepeatsBecomeASeries) {
  auto regarding = client_->Create(
      res::kConfigMaps, kNs, {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "evented"}}}});
  ASSERT_TRUE(regarding) << regarding.error().Describe();
  kube::EventRecorder recorder(*client_, "stegocluster.io/operator", "operator-0");
  auto first = recorder.Record(*regarding, kube::EventType::kNormal, "Scaled", "Scale", "scaled to 3 replicas");
  ASSERT_TRUE(first) << first.error().Describe();
  auto warning = recorder.Record(*regarding, kube::EventType::kWarning, "LeaderLost", "Elect", "no leader");
  ASSERT_TRUE(warning) << warning.error().Describe();
  auto repeat = recorder.Record(*regarding, kube::EventType::kNormal, "Scaled", "Scale", "scaled to 3 replicas");
  ASSERT_TRUE(repeat) << repeat.error().Describe();
  EXPECT_EQ((*repeat)["metadata"]["name"], (*first)["metadata"]["name"]);
  EXPECT_EQ((*repeat)["series"]["count"], 2);

  kube::ListOptions by_object;
  by_object.field_selector = "regarding.name=evented";
  auto events = client_->List(res::kEvents, kNs, by_object);
  ASSERT_TRUE(events) << events.error().Describe();
  ASSERT_EQ((*events)["items"].size(), 2u);
  std::map<std::string, Json> by_reason;
  for (const auto& e : (*events)["items"]) by_reason[e["reason"]] = e;
  const Json& scaled = by_reason["Scaled"];
  EXPECT_EQ(scaled["type"], "Normal");
  EXPECT_EQ(scaled["action"], "Scale");
  EXPECT_EQ(scaled["note"], "scaled to 3 replicas");
  EXPECT_EQ(scaled["reportingController"], "stegocluster.io/operator");
  EXPECT_EQ(scaled["reportingInstance"], "operator-0");
  EXPECT_EQ(scaled["regarding"]["kind"], "ConfigMap");
  EXPECT_EQ(scaled["regarding"]["uid"], (*regarding)["metadata"]["uid"]);
  EXPECT_EQ(scaled["series"]["count"], 2);
  EXPECT_EQ(by_reason["LeaderLost"]["type"], "Warning");

  // The core/v1 view of the same events (what kubectl describe shows) sees them too.
  kube::ListOptions core_view;
  core_view.field_selector = "involvedObject.name=evented";
  auto core = client_->List({"", "v1", "events"}, kNs, core_view);
  ASSERT_TRUE(core);
  EXPECT_EQ((*core)["items"].size(), 2u);

  auto invalid = recorder.Record(Json{{"kind", "ConfigMap"}}, kube::EventType::kNormal, "R", "A", "n");
  ASSERT_FALSE(invalid);
  EXPECT_EQ(invalid.error().reason, "Invalid");
}

}  // namespace
