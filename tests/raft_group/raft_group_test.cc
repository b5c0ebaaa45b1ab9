// A 3-member Raft group of real processes on loopback (raft_group_member: the production node,
// RocksDB storage and HTTP peer transport). Each test states a promise Raft makes to clients and
// breaks the group in the way that promise is about: kill -9 of the leader, restarts from disk,
// a member so far behind that it needs a snapshot, forged peer traffic.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/http_client.h"
#include "tests/support/process_under_test.h"
#include "tests/support/test_helpers.h"

namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using testsupport::HttpClient;
using testsupport::Eventually;
using testsupport::ProcessUnderTest;

constexpr const char* kSecret = "group-test-secret";

class Group : public ::testing::Test {
 protected:
  struct Member {
    std::uint64_t id = 0;
    std::uint16_t peer_port = 0;
    std::filesystem::path dir;
    std::unique_ptr<ProcessUnderTest> process;
    std::unique_ptr<HttpClient> client;
  };

  void SetUp() override {
    root_ = testsupport::FreshScratchDirectory("raft-group",
                                               ::testing::UnitTest::GetInstance()->current_test_info()->name());
    for (std::uint64_t id = 1; id <= 3; ++id) {
      Member& m = members_[id];
      m.id = id;
      m.peer_port = testsupport::FreeLoopbackPort();
      m.dir = root_ / ("member-" + std::to_string(id));
    }
  }

  void TearDown() override {
    for (auto& [id, m] : members_) {
      if (HasFailure() && m.process) std::cerr << "--- member " << id << " ---\n" << m.process->Output();
      m.client.reset();
      m.process.reset();
    }
    std::filesystem::remove_all(root_);
  }

  std::string PeerList() const {
    std::string s;
    for (const auto& [id, m] : members_) {
      if (!s.empty()) s += ",";
      s += std::to_string(id) + "=127.0.0.1:" + std::to_string(m.peer_port);
    }
    return s;
  }

  void Start(std::uint64_t id) {
    Member& m = members_.at(id);
    std::vector<std::string> args = {"--id", std::to_string(id), "--peers", PeerList(),
                                     "--data-dir", m.dir.string()};
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    m.client.reset();
    m.process = std::make_unique<ProcessUnderTest>(ProcessUnderTest::Options{
        .binary = RAFT_GROUP_MEMBER_BINARY, .args = args, .env = {{"RAFT_SECRET", kSecret}}});
    m.client = std::make_unique<HttpClient>(m.process->host(), m.process->port(), 10s);
  }

  void StartAll() {
    testsupport::StartRetryingTakenPorts(
        [&] {
          for (auto& [id, m] : members_) Start(id);
        },
        [&] {
          for (auto& [id, m] : members_) {
            m.client.reset();
            m.process.reset();
            std::filesystem::remove_all(m.dir);
            m.peer_port = testsupport::FreeLoopbackPort();
          }
        });
  }

  void Kill9(std::uint64_t id) {
    Member& m = members_.at(id);
    m.process->Signal(SIGKILL);
    ASSERT_TRUE(m.process->WaitExit(5s).has_value());
    m.client.reset();
  }

  bool Running(std::uint64_t id) { return members_.at(id).client != nullptr; }

  json Status(std::uint64_t id) { return members_.at(id).client->Request("GET", "/status").Json(); }

  // The leader all running members agree on (same term), or 0.
  std::uint64_t AgreedLeader() {
    std::set<std::pair<std::uint64_t, std::uint64_t>> seen;  // (leader, term)
    for (auto& [id, m] : members_) {
      if (!Running(id)) continue;
      const json s = Status(id);
      seen.insert({s["leader"].get<std::uint64_t>(), s["term"].get<std::uint64_t>()});
    }
    if (seen.size() != 1 || seen.begin()->first == 0) return 0;
    const std::uint64_t leader = seen.begin()->first;
    return Running(leader) ? leader : 0;
  }

  std::uint64_t WaitLeader() {
    std::uint64_t leader = 0;
    EXPECT_TRUE(Eventually([&] { return (leader = AgreedLeader()) != 0; }))
        << "no agreed leader among the running members";
    return leader;
  }

  // Appends through member `id`; the index on success.
  std::optional<std::uint64_t> Append(std::uint64_t id, const std::string& value) {
    const auto r = members_.at(id).client->Request("POST", "/append", value);
    if (r.status != 200) return std::nullopt;
    return r.Json()["index"].get<std::uint64_t>();
  }

  // index -> value as member `id` applied them.
  std::map<std::uint64_t, std::string> Log(std::uint64_t id) {
    std::map<std::uint64_t, std::string> out;
    const json body = members_.at(id).client->Request("GET", "/log").Json();
    for (const auto& e : body["entries"]) {
      out.emplace(e["index"].get<std::uint64_t>(), e["value"].get<std::string>());
    }
    return out;
  }

  // Waits until every running member applied the same log as the leader, and returns it.
  std::map<std::uint64_t, std::string> ConvergedLog() {
    std::map<std::uint64_t, std::string> log;
    EXPECT_TRUE(Eventually([&] {
      const std::uint64_t leader = AgreedLeader();
      if (!leader) return false;
      log = Log(leader);
      for (auto& [id, m] : members_) {
        if (Running(id) && Log(id) != log) return false;
      }
      return true;
    })) << "members did not converge on one log";
    return log;
  }

  std::filesystem::path root_;
  std::map<std::uint64_t, Member> members_;
  std::vector<std::string> extra_args_;
};

std::set<std::string> Values(const std::map<std::uint64_t, std::string>& log) {
  std::set<std::string> out;
  for (const auto& [i, v] : log) out.insert(v);
  return out;
}

TEST_F(Group, ElectsOneLeaderAndReplicatesInOrder) {
  StartAll();
  const std::uint64_t leader = WaitLeader();
  ASSERT_NE(leader, 0u);
  EXPECT_EQ(Status(leader)["role"], "leader");
  std::vector<std::uint64_t> indexes;
  for (int k = 0; k < 50; ++k) {
    const auto index = Append(leader, "v" + std::to_string(k));
    ASSERT_TRUE(index) << "append " << k << " failed";
    indexes.push_back(*index);
  }
  EXPECT_TRUE(std::is_sorted(indexes.begin(), indexes.end()));
  const auto log = ConvergedLog();
  ASSERT_EQ(log.size(), 50u);
  int k = 0;
  for (const auto& [index, value] : log) EXPECT_EQ(value, "v" + std::to_string(k++));
}

TEST_F(Group, FollowerForwardsWritesToTheLeader) {
  StartAll();
  const std::uint64_t leader = WaitLeader();
  ASSERT_NE(leader, 0u);
  const std::uint64_t follower = leader % 3 + 1;
  ASSERT_TRUE(Append(follower, "through-a-follower"));
  EXPECT_EQ(Values(ConvergedLog()), std::set<std::string>{"through-a-follower"});
}

// The peer port refuses requests without the cluster secret before decoding them: a forged vote
// with a huge term must not reach the core (it would depose the leader).
TEST_F(Group, PeerPortRefusesRequestsWithoutTheClusterSecret) {
  StartAll();
  const std::uint64_t leader = WaitLeader();
  ASSERT_NE(leader, 0u);
  const std::uint64_t term = Status(leader)["term"];
  const std::uint64_t victim = leader;
  HttpClient peer("127.0.0.1", members_.at(victim).peer_port, 5s);

  // A one-message batch (codec.h): kVote (type 8) from member 9 to the victim at term 1000.
  std::string vote = {'R', 1, 1, 0, 0, 0, 8};
  auto put64 = [&](std::uint64_t v) {
    for (int b = 0; b < 8; ++b) vote.push_back(static_cast<char>(v >> (8 * b)));
  };
  for (std::uint64_t v : {std::uint64_t{9}, victim, std::uint64_t{1000}, std::uint64_t{1000},
                          std::uint64_t{1000}, std::uint64_t{0}, std::uint64_t{0}}) {
    put64(v);
  }
  vote += std::string(1 + 4 + 4, '\0');  // flags, empty context, no entries

  const auto none = peer.Request("POST", "/raft/v1/messages", vote, {{"X-Raft-From", "9"}});
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.Json()["code"], "unauthorized");
  const auto wrong = peer.Request("POST", "/raft/v1/messages", vote,
                                  {{"X-Raft-From", "9"}, {"Authorization", "Bearer guess"}});
  EXPECT_EQ(wrong.status, 401);
  const auto garbage = peer.Request("POST", "/raft/v1/messages", "not a batch",
                                    {{"X-Raft-From", "9"}, {"Authorization", std::string("Bearer ") + kSecret}});
  EXPECT_EQ(garbage.status, 400);
  EXPECT_EQ(garbage.Json()["code"], "bad_raft_message");
  const auto spoofed = peer.Request("POST", "/raft/v1/messages", vote,
                                    {{"X-Raft-From", "2"}, {"Authorization", std::string("Bearer ") + kSecret}});
  EXPECT_EQ(spoofed.status, 400) << "a message whose sender differs from X-Raft-From";

  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(Status(victim)["term"], term) << "a refused request changed the term";
  EXPECT_EQ(AgreedLeader(), leader);
  EXPECT_TRUE(Append(leader, "still-fine"));
}

// The promise: an acknowledged write survives the loss of the leader. Writers keep appending
// while the leader is killed with SIGKILL (no flush, no goodbye); afterwards every acknowledged
// value is in every member's log exactly once, and all logs agree.
TEST_F(Group, KillNineOfTheLeaderLosesNoAcknowledgedWrite) {
  StartAll();
  const std::uint64_t old_leader = WaitLeader();
  ASSERT_NE(old_leader, 0u);

  std::atomic<bool> stop = false;
  std::atomic<int> acked_after_kill = 0;
  std::atomic<bool> killed = false;
  std::mutex mu;
  std::set<std::string> acked;
  std::vector<std::thread> writers;
  for (int w = 0; w < 3; ++w) {
    // Each writer talks to one fixed member, so some writes are forwarded and some go to a
    // member that is about to die.
    const std::uint64_t target = static_cast<std::uint64_t>(w) + 1;
    writers.emplace_back([&, w, target] {
      HttpClient client("127.0.0.1", members_.at(target).process->port(), 10s);
      for (int k = 0; !stop; ++k) {
        const std::string value = "w" + std::to_string(w) + "-" + std::to_string(k);
        try {
          const auto r = client.Request("POST", "/append", value);
          if (r.status == 200) {
            std::lock_guard lk(mu);
            acked.insert(value);
            if (killed) ++acked_after_kill;
          }
        } catch (const std::exception&) {
          std::this_thread::sleep_for(20ms);  // its member is dead; keep trying
        }
      }
    });
  }
  std::this_thread::sleep_for(700ms);
  Kill9(old_leader);
  killed = true;
  const std::uint64_t new_leader = WaitLeader();
  EXPECT_NE(new_leader, 0u);
  EXPECT_NE(new_leader, old_leader);
  ASSERT_TRUE(Eventually([&] { return acked_after_kill > 20; }))
      << "writes did not resume after the leader died";
  Start(old_leader);  // back from its data directory
  std::this_thread::sleep_for(500ms);
  stop = true;
  for (auto& t : writers) t.join();

  const auto log = ConvergedLog();
  std::map<std::string, int> count;
  for (const auto& [index, value] : log) ++count[value];
  std::lock_guard lk(mu);
  ASSERT_GT(acked.size(), 50u);
  for (const std::string& v : acked) {
    EXPECT_EQ(count[v], 1) << "acknowledged write " << v << " applied " << count[v] << " times";
  }
  for (const auto& [v, n] : count) EXPECT_EQ(n, 1) << v << " applied " << n << " times";
}

// Everything stops; everything comes back from disk alone: the same log, a leader again, and
// writes continue after it.
TEST_F(Group, WholeGroupRestartsFromDisk) {
  StartAll();
  const std::uint64_t leader = WaitLeader();
  ASSERT_NE(leader, 0u);
  for (int k = 0; k < 30; ++k) ASSERT_TRUE(Append(leader, "before-" + std::to_string(k)));
  const auto before = ConvergedLog();
  for (auto& [id, m] : members_) {
    EXPECT_EQ(m.process->Stop(), 0) << "member " << id << " did not stop cleanly on SIGTERM";
    m.client.reset();
  }
  StartAll();
  const std::uint64_t again = WaitLeader();
  ASSERT_NE(again, 0u);
  ASSERT_TRUE(Append(again, "after"));
  auto after = ConvergedLog();
  ASSERT_EQ(after.size(), before.size() + 1);
  EXPECT_EQ(after.rbegin()->second, "after");
  after.erase(std::prev(after.end()));
  EXPECT_EQ(after, before);
}

// A member that was down while the others compacted their logs can only catch up from a
// snapshot, which crosses the transport in many small chunks.
TEST_F(Group, LaggingMemberCatchesUpFromAChunkedSnapshot) {
  extra_args_ = {"--snapshot-every", "40", "--compaction-margin", "5", "--snapshot-chunk-bytes", "256"};
  StartAll();
  const std::uint64_t leader = WaitLeader();
  ASSERT_NE(leader, 0u);
  const std::uint64_t lagging = leader % 3 + 1;
  ASSERT_TRUE(Append(leader, "seen-by-all"));
  ConvergedLog();
  members_.at(lagging).process->Signal(SIGKILL);
  members_.at(lagging).process->WaitExit(5s);
  members_.at(lagging).client.reset();
  for (int k = 0; k < 150; ++k) ASSERT_TRUE(Append(leader, "while-away-" + std::to_string(k)));
  ASSERT_GT(Status(leader)["snapshot_index"].get<std::uint64_t>(), 100u);

  Start(lagging);
  const auto log = ConvergedLog();
  EXPECT_EQ(log.size(), 151u);
  EXPECT_GT(Status(lagging)["snapshot_index"].get<std::uint64_t>(), 100u)
      << "the member should have installed the leader's snapshot";
  // Whoever leads when it returns sends the snapshot: on a slow machine (the sanitizer runs)
  // leadership may have moved since the writes.
  bool sent = false;
  for (const auto& [id, member] : members_) {
    sent = sent || (id != lagging && member.process->Output().find("sent snapshot") != std::string::npos);
  }
  EXPECT_TRUE(sent) << "no member logged sending a snapshot";
}

TEST_F(Group, CorruptStorageRefusesToStartAndNamesTheDirectory) {
  StartAll();
  ASSERT_NE(WaitLeader(), 0u);
  Member& m = members_.at(1);
  m.process->Stop();
  m.client.reset();
  // Damage every table and log file RocksDB wrote, past their headers.
  for (const auto& f : std::filesystem::directory_iterator(m.dir)) {
    const auto ext = f.path().extension();
    if (ext != ".log" && ext != ".sst") continue;
    std::fstream io(f.path(), std::ios::in | std::ios::out | std::ios::binary);
    const auto size = std::filesystem::file_size(f.path());
    for (std::uintmax_t off = 64; off + 8 < size; off += 97) {
      io.seekp(static_cast<std::streamoff>(off));
      io.write("\xde\xad\xbe\xef", 4);
    }
  }
  ProcessUnderTest broken({.binary = RAFT_GROUP_MEMBER_BINARY,
                           .args = {"--id", "1", "--peers", PeerList(), "--data-dir", m.dir.string()},
                           .env = {{"RAFT_SECRET", kSecret}},
                           .wait_listening = false});
  const auto status = broken.WaitExit(20s);
  ASSERT_TRUE(status.has_value()) << "a member started on corrupt storage";
  EXPECT_NE(*status, 0);
  EXPECT_NE(broken.Output().find(m.dir.string()), std::string::npos) << broken.Output();
}

}  // namespace
