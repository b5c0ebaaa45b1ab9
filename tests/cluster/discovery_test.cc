// Members that find each other through DNS (--peers-dns), as the pods of a StatefulSet do through
// its headless Service: stego-0, stego-1, ... each on its own loopback address 127.0.0.(11+k),
// all with the same ports. Every member runs in a private mount namespace (unshare --mount, so
// root is needed) where a scratch hosts file is bind-mounted over /etc/hosts, its lines mapping
// "stego-peers" to the published members' addresses: glibc's getaddrinfo returns one A record
// per line (with "multi on" in host.conf, also bind-mounted). All members share that one file,
// which the test appends to in place, as the cluster DNS publishes new pods.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <thread>

#include "tests/cluster/cluster_fixture.h"

namespace {

using namespace clustertest;
namespace fs = std::filesystem;

constexpr const char* kUnshare = "/usr/bin/unshare";
constexpr const char* kServiceName = "stego-peers";
// Runs "$@" with the scratch resolver files ($1 hosts, $2 host.conf, $3 nsswitch.conf) mounted
// over the system's, in the mount namespace unshare made (private: nothing leaks out).
constexpr const char* kWithResolverFiles =
    "mount --bind \"$1\" /etc/hosts && mount --bind \"$2\" /etc/host.conf && "
    "{ [ ! -e /etc/nsswitch.conf ] || mount --bind \"$3\" /etc/nsswitch.conf; } && shift 3 && exec \"$@\"";

class Discovery : public Cluster {
 protected:
  void SetUp() override {
    if (::geteuid() != 0 || !fs::exists(kUnshare)) GTEST_SKIP() << "needs root and util-linux's unshare";
    root_ = testsupport::FreshScratchDirectory("stego-discovery",
                                               ::testing::UnitTest::GetInstance()->current_test_info()->name());
    hosts_ = root_ / "hosts";
    std::ofstream(hosts_) << "127.0.0.1 localhost\n";
    std::ofstream(root_ / "host.conf") << "multi on\n";
    std::ofstream(root_ / "nsswitch.conf") << "hosts: files\n";
    http_port_ = testsupport::FreeLoopbackPort();
    peer_port_ = testsupport::FreeLoopbackPort();
  }

  static std::string Pod(int ordinal) { return "stego-" + std::to_string(ordinal); }
  static std::string Address(int ordinal) { return "127.0.0." + std::to_string(11 + ordinal); }

  // The cluster DNS publishes the pod: one more A record for the Service name.
  void Publish(int ordinal) { std::ofstream(hosts_, std::ios::app) << Address(ordinal) << " " << kServiceName << "\n"; }

  testsupport::ProcessUnderTest::Options InNamespace(std::vector<std::string> command) {
    std::vector<std::string> args = {"--mount", "--", "/bin/sh", "-c", kWithResolverFiles, "sh", hosts_.string(),
                                     (root_ / "host.conf").string(), (root_ / "nsswitch.conf").string()};
    args.insert(args.end(), command.begin(), command.end());
    return {.binary = kUnshare,
            .args = std::move(args),
            .env = {{"STEGO_CLUSTER_SECRET", kSecret}, {"STEGO_ADMIN_KEY", kAdminKey}}};
  }

  // What getaddrinfo answers for the Service name inside such a namespace.
  std::string Resolve() {
    auto options = InNamespace({"/usr/bin/getent", "ahostsv4", kServiceName});
    options.wait_listening = false;
    ProcessUnderTest getent(options);
    getent.WaitExit(10s);
    return getent.Output();
  }

  void StartPod(int ordinal) {
    const std::string name = Pod(ordinal);
    Member& m = members_[name];
    m.host = Address(ordinal);
    m.http_port = http_port_;
    m.peer_port = peer_port_;
    m.dir = root_ / name;
    m.process = std::make_unique<ProcessUnderTest>(InNamespace(
        {STEGO_WORKER_BINARY, "--node-id", name, "--http", m.host + ":" + std::to_string(http_port_), "--peer",
         m.host + ":" + std::to_string(peer_port_), "--peers-dns", kServiceName, "--data-dir", m.dir.string(),
         "--threads", "2"}));
  }

  std::string Log(int ordinal) { return members_.at(Pod(ordinal)).process->Output(); }

  fs::path hosts_;
  std::uint16_t http_port_ = 0;
  std::uint16_t peer_port_ = 0;
};

// No pod but ordinal 0 ever bootstraps, and pods keep looking: stego-1 and stego-2 start first
// and wait, stego-0 is published and started later, and they find it by resolving the name again.
TEST_F(Discovery, OnlyOrdinalZeroBootstrapsAndLaterPodsAreFoundByResolvingAgain) {
  Publish(1);
  Publish(2);
  const std::string records = Resolve();
  ASSERT_TRUE(records.find(Address(1)) != std::string::npos && records.find(Address(2)) != std::string::npos)
      << "getaddrinfo in the namespace does not return one A record per hosts line:\n" << records;
  StartPod(1);
  StartPod(2);
  std::this_thread::sleep_for(1500ms);  // long enough to have asked each other several times
  for (int k : {1, 2}) {
    EXPECT_TRUE(RaftStatus(Pod(k))["voters"].empty()) << Pod(k) << " must not form a cluster on its own";
    EXPECT_EQ(Log(k).find("bootstrapped"), std::string::npos) << Pod(k);
    EXPECT_NE(Log(k).find("is joining"), std::string::npos) << Pod(k);
  }

  Publish(0);
  StartPod(0);
  EXPECT_NE(Log(0).find("bootstrapped a new cluster"), std::string::npos);
  WaitFullyFormed();  // within kResolveEvery (5 s) of stego-0's record appearing, and a promotion
  const std::string leader = WaitLeader();
  // The first of them to join can only have found stego-0 by resolving the name again; the other
  // may then join through it (its 421 names the leader) before its own next resolution.
  int resolved_again = 0;
  for (int k : {1, 2}) {
    resolved_again += Log(k).find("resolves to peers [" + Address(0) + ":" + std::to_string(peer_port_)) !=
                      std::string::npos;
    const json s = RaftStatus(Pod(k));
    EXPECT_EQ(s["leader_address"], Address(0) + ":" + std::to_string(http_port_));
  }
  EXPECT_GE(resolved_again, 1) << "neither waiting pod resolved " << kServiceName << " again";
  ASSERT_EQ(PutConfig(Pod(2), {{"max_pixels", 5150}}).status, 200);
  for (int k : {0, 1, 2}) {
    EXPECT_TRUE(Eventually([&] { return Config(Pod(k))["config"]["max_pixels"] == 5150; })) << Pod(k);
  }
}

// A scaled-up StatefulSet's new pod joins the running cluster; ordinal 0 restarted with an empty
// data directory (say its emptyDir was lost) joins it too, as a new identity, instead of
// bootstrapping a second cluster.
TEST_F(Discovery, NewPodJoinsAndAWipedOrdinalZeroJoinsInsteadOfBootstrapping) {
  for (int k : {0, 1, 2}) Publish(k);
  for (int k : {0, 1, 2}) StartPod(k);
  WaitFullyFormed();
  Publish(3);
  StartPod(3);
  WaitFullyFormed();
  EXPECT_EQ(RaftStatus(Pod(1))["voters"].size(), 4u);

  const std::uint64_t old_id = RaftStatus(Pod(0))["raft_id"];
  members_.at(Pod(0)).process.reset();  // SIGTERM: a leader hands over first
  fs::remove_all(members_.at(Pod(0)).dir);
  ASSERT_FALSE(WaitLeader().empty());
  StartPod(0);
  EXPECT_EQ(Log(0).find("bootstrapped"), std::string::npos) << "a second cluster";
  EXPECT_NE(Log(0).find("is joining"), std::string::npos);
  WaitFullyFormed();
  EXPECT_EQ(RaftStatus(Pod(0))["voters"].size(), 4u) << "the stale identity of stego-0 is gone";
  EXPECT_NE(RaftStatus(Pod(0))["raft_id"].get<std::uint64_t>(), old_id);
}

// A newcomer is not ready while it is a learner: readiness is what a PodDisruptionBudget counts,
// and a learner counts for no quorum. Each sample reads the member's role before and after its
// /readyz answer; a learner throughout must have answered 503.
TEST_F(Discovery, ANewcomerTurnsReadyOnlyOncePromotedToVoter) {
  for (int k : {0, 1, 2}) Publish(k);
  for (int k : {0, 1, 2}) StartPod(k);
  WaitFullyFormed();
  Publish(3);
  StartPod(3);
  const auto is_learner = [&] {
    const auto r = Client(Pod(3)).Request("GET", "/raft/status");
    if (r.status != 200) return false;
    const json status = r.Json();
    const json learners = status.value("learners", json::array());
    return std::find(learners.begin(), learners.end(), Pod(3)) != learners.end();
  };
  // Sampled as fast as the member answers: the learner phase lasts from the join until the
  // leader's next promotion round (100 ms) commits.
  int learner_samples = 0;
  bool ready = false;
  for (const auto deadline = std::chrono::steady_clock::now() + 60s; !ready && std::chrono::steady_clock::now() < deadline;) {
    const bool learner_before = is_learner();
    const auto readyz = Client(Pod(3)).Request("GET", "/readyz");
    ready = readyz.status == 200;
    if (learner_before && is_learner()) {
      ++learner_samples;
      ASSERT_EQ(readyz.status, 503) << "a learner answered ready: " << readyz.body;
    }
  }
  ASSERT_TRUE(ready) << "the newcomer never turned ready";
  // Ready means voting in its own view; the others apply the promotion a moment later or earlier.
  const json voters = RaftStatus(Pod(3))["voters"];
  EXPECT_NE(std::find(voters.begin(), voters.end(), Pod(3)), voters.end()) << voters.dump();
  EXPECT_TRUE(Eventually([&] { return RaftStatus(Pod(1))["voters"].size() == 4u; }));
  std::cout << "[ info ] the newcomer was seen as a learner " << learner_samples << " times, never ready\n";
}

}  // namespace
