// Linearizability under faults: client threads (workload.h) operate on the configuration, the
// cover library and the API keys of a real 3- or 5-member cluster, while a nemesis kills (-9),
// stops (SIGSTOP), isolates, wipes, removes and re-adds members, and transfers leadership, one
// fault at a time, at random from a seed. Porcupine (checker/, `lincheck`) then decides whether
// the recorded history is linearizable. A stego probe counts how often the API answered during
// each fault.
//
//   STEGO_NEMESIS_SEED=N      the schedule's seed (default: a random one, printed)
//   STEGO_NEMESIS_SECONDS=S   how long the nemesis runs (default 40)
//   STEGO_LINCHECK=PATH       the checker (CTest sets it; tests/linearizability/checker/build.sh)
//
// Each run writes history.json, the checker's verdict, availability.json and every member's logs
// (each run of each member) to linearizability-runs/<members>m-seed<N>/ under the working
// directory; the directory is removed when the run passes, unless STEGO_KEEP_TEST_LOGS=1.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "tests/cluster/cluster_fixture.h"
#include "tests/linearizability/workload.h"

namespace {

using namespace clustertest;
using lintest::Clock;
using lintest::History;

// One fault: what, to whom, and when (History times): injected, undone, and the cluster healthy
// again (every member up and a voter, one agreed leader).
struct Fault {
  std::string kind;
  std::string member;
  std::int64_t start = 0, healed = 0, recovered = 0;
};

// How long a member works on one request (NodeOptions::request_timeout): the checker's bound on
// when a write whose answer was lost can still take effect (checker/history.go, decidedBy).
constexpr auto kRequestTimeout = 5s;

const std::vector<std::string> kFaultKinds = {"kill", "pause", "isolate", "wipe", "membership", "transfer"};

std::uint64_t EnvNumber(const char* name, std::uint64_t fallback) {
  const char* text = std::getenv(name);
  return text && *text ? std::stoull(text) : fallback;
}

class Linearizability : public Cluster, public ::testing::WithParamInterface<int> {
 protected:
  void SetUp() override {
    seed_ = EnvNumber("STEGO_NEMESIS_SEED", std::random_device{}());
    rng_.seed(seed_);
    run_dir_ = std::filesystem::current_path() / "linearizability-runs" /
               (std::to_string(GetParam()) + "m-seed" + std::to_string(seed_));
    std::filesystem::remove_all(run_dir_);
    log_dir_ = run_dir_ / "logs";
    std::filesystem::create_directories(log_dir_);
    std::cout << "seed " << seed_ << ", " << GetParam() << " members, run directory " << run_dir_ << std::endl;
    root_ = testsupport::FreshScratchDirectory("stego-lin", std::to_string(GetParam()) + "m");
    for (int i = 1; i <= GetParam(); ++i) AddMember("node" + std::to_string(i));
    StartAll();
  }

  void TearDown() override {
    Cluster::TearDown();
    const char* keep = std::getenv("STEGO_KEEP_TEST_LOGS");
    if (HasFailure() || (keep && std::string_view(keep) == "1")) {
      std::cout << "kept " << run_dir_ << std::endl;
    } else {
      std::filesystem::remove_all(run_dir_);
    }
  }

  int Random(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  std::chrono::milliseconds RandomMs(int from, int to) { return std::chrono::milliseconds(from + Random(to - from)); }

  std::vector<std::string> Names() const {
    std::vector<std::string> out;
    for (const auto& [name, m] : members_) out.push_back(name);
    return out;
  }

  // Every member up and answering, all of them voters (no learner), one leader all agree on.
  bool Healthy() {
    try {
      const std::vector<std::string> names = Names();
      const std::set<std::string> all(names.begin(), names.end());
      for (const std::string& name : all) {
        if (!Running(name)) return false;
        const json s = RaftStatus(name);
        std::set<std::string> voters;
        for (const auto& v : s["voters"]) voters.insert(v.is_string() ? v.get<std::string>() : "");
        if (voters != all || !s["learners"].empty()) return false;
      }
      return !LeaderOrNone().empty();
    } catch (const std::exception&) {
      return false;
    }
  }

  // The agreed leader, or "" (also when a member does not answer).
  std::string LeaderOrNone() {
    try {
      return AgreedLeader();
    } catch (const std::exception&) {
      return "";
    }
  }

  // The victim of a fault that hits one member: the leader half of the time.
  std::string Victim() {
    const std::vector<std::string> names = Names();
    if (Random(2) == 0) {
      if (std::string leader = LeaderOrNone(); !leader.empty()) return leader;
    }
    return names[static_cast<std::size_t>(Random(static_cast<int>(names.size())))];
  }

  std::string OtherThan(const std::string& excluded) {
    std::vector<std::string> others;
    for (const auto& name : Names()) {
      if (name != excluded) others.push_back(name);
    }
    return others[static_cast<std::size_t>(Random(static_cast<int>(others.size())))];
  }

  void Kill(const std::string& name) {
    members_.at(name).process->Signal(SIGKILL);
    ASSERT_TRUE(members_.at(name).process->WaitExit(10s).has_value()) << name << " survived SIGKILL";
  }

  json Admin(const std::string& member, const std::string& path, const json& body) {
    const auto r = Client(member).Request("POST", path, body.is_null() ? "" : body.dump(), kAdmin);
    return {{"status", r.status}, {"body", r.body}};
  }

  // Injects one fault of `kind`; fills in its member.
  void Inject(Fault& f) {
    if (f.kind == "transfer" || f.kind == "membership") {
      std::string leader;  // healthy a moment ago, but a loaded machine may be electing again
      ASSERT_TRUE(Eventually([&] { return !(leader = LeaderOrNone()).empty(); }, 60s)) << "no leader";
      f.member = OtherThan(leader);
      if (f.kind == "transfer") {
        Admin(leader, "/admin/transfer-leadership", {{"target", f.member}});
        return;
      }
      // A leader change may overwrite the change (503 proposal_dropped): ask the leader of the day
      // again, as an operator would.
      json removed;
      ASSERT_TRUE(Eventually(
          [&] {
            const std::string now = LeaderOrNone();
            if (now.empty() || now == f.member) return false;
            removed = Admin(now, "/admin/members", {{"action", "remove"}, {"name", f.member}});
            return removed["status"] == 200;
          },
          60s))
          << removed.dump();
      Kill(f.member);  // a removed member is gone for good: it comes back empty, as a newcomer
      std::filesystem::remove_all(members_.at(f.member).dir);
      return;
    }
    f.member = Victim();
    if (f.kind == "kill" || f.kind == "wipe") {
      Kill(f.member);
      if (f.kind == "wipe") std::filesystem::remove_all(members_.at(f.member).dir);
    } else if (f.kind == "pause") {
      members_.at(f.member).process->Signal(SIGSTOP);
      frozen_.insert(f.member);
    } else {
      const json isolated = Admin(f.member, "/admin/fail", {{"action", "isolate"}});
      ASSERT_EQ(isolated["status"], 200) << isolated.dump();
      frozen_.insert(f.member);
    }
  }

  void Heal(const Fault& f) {
    if (f.kind == "kill" || f.kind == "wipe" || f.kind == "membership") {
      Start(f.member);  // from its directory, or from nothing
    } else if (f.kind == "pause") {
      members_.at(f.member).process->Signal(SIGCONT);
      frozen_.erase(f.member);
    } else if (f.kind == "isolate") {
      const json restored = Admin(f.member, "/admin/restore", nullptr);
      ASSERT_EQ(restored["status"], 200) << restored.dump();
      frozen_.erase(f.member);
    }
  }

  // Faults one after another until `duration` has passed, each held 1-4 s, then healed and
  // waited out (the cluster healthy again) before a quiet 0.5-1.5 s.
  std::vector<Fault> RunNemesis(History& history, std::chrono::seconds duration) {
    std::vector<Fault> faults;
    const auto end = Clock::now() + duration;
    while (Clock::now() < end) {
      Fault f;
      f.kind = kFaultKinds[static_cast<std::size_t>(Random(static_cast<int>(kFaultKinds.size())))];
      f.start = history.Now();
      Inject(f);
      if (HasFatalFailure()) return faults;
      if (f.kind != "transfer") std::this_thread::sleep_for(RandomMs(1000, 4000));
      Heal(f);
      f.healed = history.Now();
      EXPECT_TRUE(Eventually([&] { return Healthy(); }, 120s)) << "not healthy again after " << f.kind << " of " << f.member;
      f.recovered = history.Now();
      std::cout << "  " << f.kind << " " << f.member << ": held " << (f.healed - f.start) / 1'000'000 << " ms, healthy "
                << (f.recovered - f.healed) / 1'000'000 << " ms later" << std::endl;
      faults.push_back(f);
      if (HasFailure()) return faults;
      std::this_thread::sleep_for(RandomMs(500, 1500));
    }
    return faults;
  }

  // Runs the checker on the history; its output goes to the run directory and stdout.
  int Check(const json& history) {
    const char* lincheck = std::getenv("STEGO_LINCHECK");
    if (!lincheck) {
      ADD_FAILURE() << "STEGO_LINCHECK is not set (tests/linearizability/checker/build.sh builds the checker)";
      return -1;
    }
    std::ofstream(run_dir_ / "history.json") << history.dump() << "\n";
    const std::string command = std::string(lincheck) + " -viz " + run_dir_.string() + " " +
                                (run_dir_ / "history.json").string() + " > " + (run_dir_ / "verdict.txt").string() + " 2>&1";
    const int status = std::system(command.c_str());
    std::ifstream verdict(run_dir_ / "verdict.txt");
    std::cout << verdict.rdbuf() << std::flush;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::uint64_t seed_ = 0;
  std::mt19937_64 rng_;
  std::filesystem::path run_dir_;
};

// Availability of the stego API during each kind of fault (from injection until healthy again),
// for requests to the member at fault and to the others, and outside faults.
json Availability(const std::vector<lintest::ProbeSample>& probes, const std::vector<Fault>& faults) {
  struct Count {
    int ok = 0, all = 0;
  };
  std::map<std::string, Count> counts;
  for (const auto& p : probes) {
    std::string bucket = "no fault";
    for (const auto& f : faults) {
      if (p.sent >= f.start && p.sent < f.recovered) bucket = f.kind + (p.member == f.member ? " (the member at fault)" : " (the others)");
    }
    counts[bucket].all++;
    counts[bucket].ok += p.ok;
  }
  json out = json::object();
  for (const auto& [bucket, c] : counts) {
    out[bucket] = {{"requests", c.all}, {"answered", c.ok}, {"percent", c.all ? 100.0 * c.ok / c.all : 0.0}};
  }
  return out;
}

TEST_P(Linearizability, EveryHistoryUnderTheNemesisIsLinearizable) {
  WaitFullyFormed();
  const std::string leader = WaitLeader();
  lintest::Target target{.http_ports = HttpPorts(), .admin_key = kAdminKey, .cover_pngs = {}};
  for (int i = 0; i < 4; ++i) {
    const auto png = Client(leader).Request("GET", "/api/v1/dataset/" + std::to_string(i));
    ASSERT_EQ(png.status, 200);
    target.cover_pngs.push_back(png.body);
  }
  const std::int64_t initial = lintest::ReadMaxPixels(target, leader);

  History history;
  lintest::Workload workload(target, history, seed_);
  const auto faults = RunNemesis(history, std::chrono::seconds(EnvNumber("STEGO_NEMESIS_SECONDS", 40)));
  std::this_thread::sleep_for(1s);  // operations on the healed cluster, after the last fault
  workload.Stop();
  ASSERT_FALSE(HasFailure());

  const json availability = Availability(workload.probes(), faults);
  std::ofstream(run_dir_ / "availability.json") << availability.dump(2) << "\n";
  std::cout << faults.size() << " faults, " << history.size() << " operations; stego API availability:\n"
            << availability.dump(2) << std::endl;
  EXPECT_GE(faults.size(), 3u) << "too short a schedule to prove anything";
  json recorded = history.Json(initial);
  recorded["request_timeout"] = std::chrono::nanoseconds(kRequestTimeout).count();
  recorded["faults"] = json::array();
  for (const auto& f : faults) {
    recorded["faults"].push_back(
        {{"kind", f.kind}, {"member", f.member}, {"start", f.start}, {"healed", f.healed}, {"recovered", f.recovered}});
  }
  std::map<std::string, int> per_kind;
  for (const auto& op : recorded["ops"]) per_kind[op["kind"]]++;
  for (const char* kind : {"config", "covers", "keys"}) EXPECT_GE(per_kind[kind], 50) << kind;
  EXPECT_EQ(Check(recorded), 0) << "see " << run_dir_;
}

INSTANTIATE_TEST_SUITE_P(Members, Linearizability, ::testing::Values(3, 5),
                         [](const auto& info) { return std::to_string(info.param) + "Members"; });

}  // namespace
