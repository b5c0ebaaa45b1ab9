// The fixture of the cluster tests: real stego-worker processes on loopback, started with a
// static peer list as the README's run command starts them, and what the tests ask of them.
#pragma once

#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "tests/support/http_client.h"
#include "tests/support/process_under_test.h"
#include "tests/support/test_helpers.h"

namespace clustertest {

using json = nlohmann::json;
using namespace std::chrono_literals;
using testsupport::Eventually;
using testsupport::HttpClient;
using testsupport::ProcessUnderTest;

// One secret per test process: tests run side by side (ctest -j), and a port one test picked as free
// may be taken by another test's member a moment later. With its own secret, a member of another
// test answers 401 and is never mistaken for this cluster's (a bootstrapper that saw it would join
// instead of forming the cluster).
inline const std::string kSecret = "cluster-test-secret-" + std::to_string(::getpid());
inline constexpr const char* kAdminKey = "cluster-test-admin";
inline const testsupport::HeaderList kAdmin = {{"Authorization", std::string("Bearer ") + kAdminKey},
                                               {"Content-Type", "application/json"}};

class Cluster : public ::testing::Test {
 protected:
  struct Member {
    std::string host = "127.0.0.1";  // where its API and peer port are reached
    std::string listen;              // where they listen, if not `host`: then `host` is advertised
    std::uint16_t http_port = 0;
    std::uint16_t peer_port = 0;
    std::filesystem::path dir;
    std::unique_ptr<ProcessUnderTest> process;
  };

  void SetUp() override {
    root_ = testsupport::FreshScratchDirectory("stego-cluster",
                                               ::testing::UnitTest::GetInstance()->current_test_info()->name());
    for (const char* name : {"node1", "node2", "node3"}) AddMember(name);
    StartAll();
  }

  // Starts every member (each constructor waits until it listens), on fresh ports and data
  // directories again if a port was taken (testsupport::StartRetryingTakenPorts).
  void StartAll() {
    testsupport::StartRetryingTakenPorts(
        [&] {
          for (const auto& [name, m] : members_) Start(name);
        },
        [&] {
          for (auto& [name, m] : members_) {
            m.process.reset();
            std::filesystem::remove_all(m.dir);
            m.http_port = testsupport::FreeLoopbackPort();
            m.peer_port = testsupport::FreeLoopbackPort();
          }
        });
  }

  void TearDown() override {
    for (auto& [name, m] : members_) {
      if (HasFailure() && m.process) std::cerr << "--- " << name << " ---\n" << m.process->Output();
      m.process.reset();
    }
    std::filesystem::remove_all(root_);
  }

  // Adds a member to the static list (it is passed to members started from now on).
  void AddMember(const std::string& name) {
    Member& m = members_[name];
    m.http_port = testsupport::FreeLoopbackPort();
    m.peer_port = testsupport::FreeLoopbackPort();
    m.dir = root_ / name;
  }

  void Start(const std::string& name) {
    Member& m = members_.at(name);
    std::string peers;
    for (const auto& [n, other] : members_) {
      peers += (peers.empty() ? "" : ",") + n + "=127.0.0.1:" + std::to_string(other.peer_port);
    }
    const std::string listen = m.listen.empty() ? m.host : m.listen;
    std::vector<std::string> args = {"--node-id", name, "--http", listen + ":" + std::to_string(m.http_port),
                                     "--peer", listen + ":" + std::to_string(m.peer_port), "--peers", peers,
                                     "--data-dir", m.dir.string(), "--threads", "2"};
    if (!m.listen.empty()) args.insert(args.end(), {"--advertise", m.host});
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    std::string output;  // by default a temporary file, deleted with the process
    if (!log_dir_.empty()) output = (log_dir_ / (name + "." + std::to_string(++starts_[name]) + ".log")).string();
    const char* binary = std::getenv("STEGO_WORKER_BINARY");  // a copy, for runs longer than a rebuild
    m.process = std::make_unique<ProcessUnderTest>(ProcessUnderTest::Options{
        .binary = binary && *binary ? binary : STEGO_WORKER_BINARY,
        .args = std::move(args),
        .env = {{"STEGO_CLUSTER_SECRET", kSecret}, {"STEGO_ADMIN_KEY", kAdminKey}},
        .output_path = output,
        .keep_output = !output.empty()});
  }

  // Members that are up and answering (not stopped with SIGSTOP, not paused).
  bool Running(const std::string& name) {
    const auto& p = members_.at(name).process;
    return p && p->Running() && !frozen_.count(name);
  }

  // A member other than `leader` (the first by name).
  std::string Follower(const std::string& leader) const {
    for (const auto& [name, m] : members_) {
      if (name != leader) return name;
    }
    return "";
  }

  HttpClient Client(const std::string& name) {
    const Member& m = members_.at(name);
    return HttpClient(m.host, m.http_port, 10s);
  }

  // Each member's API port, by name (for clients that outlive a member's restart).
  std::map<std::string, std::uint16_t> HttpPorts() const {
    std::map<std::string, std::uint16_t> out;
    for (const auto& [name, m] : members_) out[name] = m.http_port;
    return out;
  }

  json RaftStatus(const std::string& name) { return Client(name).Request("GET", "/raft/status").Json(); }

  // The leader's name if every running member agrees on it (same term) and it runs; else "".
  std::string AgreedLeader() {
    std::set<std::pair<std::string, std::uint64_t>> seen;
    for (const auto& [name, m] : members_) {
      if (!Running(name)) continue;
      const json s = RaftStatus(name);
      if (s["leader_id"].is_null()) return "";
      seen.emplace(s["leader_id"].get<std::string>(), s["term"].get<std::uint64_t>());
    }
    if (seen.size() != 1 || !Running(seen.begin()->first)) return "";
    return seen.begin()->first;
  }

  std::string WaitLeader() {
    std::string leader;
    EXPECT_TRUE(Eventually([&] { return !(leader = AgreedLeader()).empty(); })) << "no agreed leader";
    return leader;
  }

  std::set<std::string> Voters(const std::string& name) {
    const json s = RaftStatus(name);
    std::set<std::string> out;
    for (const auto& v : s["voters"]) out.insert(v.is_string() ? v.get<std::string>() : "(unknown)");
    return out;
  }

  // Waits until all running members are voters of one configuration holding exactly them.
  void WaitFullyFormed() {
    std::set<std::string> all;
    for (const auto& [name, m] : members_) {
      if (Running(name)) all.insert(name);
    }
    ASSERT_TRUE(Eventually([&] {
      for (const std::string& name : all) {
        if (Voters(name) != all || !RaftStatus(name)["learners"].empty()) return false;
      }
      return true;
    })) << "the running members did not all become voters";
  }

  testsupport::HttpResponse PutConfig(const std::string& name, const json& patch) {
    return Client(name).Request("PUT", "/api/v1/config", patch.dump(), kAdmin);
  }

  json Config(const std::string& name) { return Client(name).Request("GET", "/api/v1/config").Json(); }

  // Writers set max_pixels to 1000 + a rising count: every member must end with the last
  // acknowledged value or a later one, all on one configuration version.
  void ExpectNoAcknowledgedWriteLost(int last_acked) {
    ASSERT_GT(last_acked, 0);
    EXPECT_TRUE(Eventually([&] {
      for (const auto& [name, m] : members_) {
        if (Config(name)["config"]["max_pixels"].get<int>() < 1000 + last_acked) return false;
      }
      return true;
    })) << "an acknowledged configuration write was lost (last acknowledged " << last_acked << ")";
    EXPECT_TRUE(Eventually([&] {
      std::set<std::uint64_t> versions;
      for (const auto& [name, m] : members_) versions.insert(Config(name)["version"].get<std::uint64_t>());
      return versions.size() == 1;
    })) << "members do not converge on one configuration version";
  }

  std::filesystem::path root_;
  std::map<std::string, Member> members_;
  std::set<std::string> frozen_;  // SIGSTOPped or paused: not asked anything
  std::vector<std::string> extra_args_;  // given to every member started (set before SetUp)
  std::filesystem::path log_dir_;  // if set: every run of every member logs to NAME.N.log there, kept
  std::map<std::string, int> starts_;
};

}  // namespace clustertest
