// stegoctl, the real binary, against a real 3-member cluster of stego-worker processes (the cluster
// tests' fixture): every subcommand with the exit code a script would branch on, the layering of
// its settings, what it does on a terminal (a pseudo-terminal of the test's), and `bench`,
// including a run through the leader's kill -9. Each run gets
// STEGOCTL_SERVER naming the three members, a config directory of its own, and none of the
// caller's STEGOCTL_* variables.
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <fstream>
#include <random>
#include <regex>
#include <sstream>

#include "tests/cluster/cluster_fixture.h"

extern char** environ;

namespace {

using clustertest::json;
using clustertest::kAdminKey;
using Env = std::vector<std::pair<std::string, std::string>>;
using namespace std::chrono_literals;

struct Outcome {
  int code = -1;
  std::string out, err;
};

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

void WriteFile(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// stegoctl's argv and envp, as exec wants them (the strings stay owned here).
class Invocation {
 public:
  Invocation(const std::vector<std::string>& args, std::vector<std::string> env) : env_(std::move(env)) {
    args_ = {STEGOCTL_BINARY};
    args_.insert(args_.end(), args.begin(), args.end());
    for (auto& a : args_) argv_.push_back(a.data());
    for (auto& e : env_) envp_.push_back(e.data());
    argv_.push_back(nullptr);
    envp_.push_back(nullptr);
  }
  char* const* argv() { return argv_.data(); }
  char* const* envp() { return envp_.data(); }

 private:
  std::vector<std::string> args_, env_;
  std::vector<char*> argv_, envp_;
};

class Stegoctl : public clustertest::Cluster {
 protected:
  void SetUp() override {
    Cluster::SetUp();
    work_ = root_ / "work";
    std::filesystem::create_directories(work_);
    std::filesystem::create_directories(root_ / "config/stegoctl");
    leader_ = WaitLeader();
  }

  std::string Servers() const {
    std::string out;
    for (const auto& [name, m] : members_) out += (out.empty() ? "" : ",") + Address(name);
    return out;
  }
  std::string Address(const std::string& name) const {
    return "127.0.0.1:" + std::to_string(members_.at(name).http_port);
  }

  // The environment of a run: this one's without STEGOCTL_* variables, with STEGOCTL_SERVER naming
  // the members and a config directory of the test's own; `env` adds to it (or, with an empty
  // value, removes from it).
  std::vector<std::string> Environment(const Env& env) const {
    std::map<std::string, std::string> vars;
    for (char** e = environ; *e; ++e) {
      const std::string var = *e;
      const auto eq = var.find('=');
      if (var.rfind("STEGOCTL_", 0) != 0) vars[var.substr(0, eq)] = var.substr(eq + 1);
    }
    vars["XDG_CONFIG_HOME"] = (root_ / "config").string();
    vars["STEGOCTL_SERVER"] = Servers();
    for (const auto& [k, v] : env) v.empty() ? (void)vars.erase(k) : (void)(vars[k] = v);
    std::vector<std::string> out;
    for (const auto& [k, v] : vars) out.push_back(k + "=" + v);
    return out;
  }

  // Starts stegoctl in the work directory with `args` and Environment(env). Its stdin is `input`,
  // its stdout and stderr go to files.
  pid_t Start(const std::vector<std::string>& args, const Env& env = {}, const std::string& input = "") {
    const int n = ++runs_;
    WriteFile(work_ / (".in" + std::to_string(n)), input);
    Invocation call(args, Environment(env));
    posix_spawn_file_actions_t files;
    posix_spawn_file_actions_init(&files);
    posix_spawn_file_actions_addchdir_np(&files, work_.c_str());
    const std::string in = ".in" + std::to_string(n), out = ".out" + std::to_string(n), err = ".err" + std::to_string(n);
    posix_spawn_file_actions_addopen(&files, 0, in.c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&files, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&files, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid = -1;
    const int failed = posix_spawn(&pid, STEGOCTL_BINARY, &files, nullptr, call.argv(), call.envp());
    posix_spawn_file_actions_destroy(&files);
    if (failed) throw std::runtime_error("cannot start stegoctl");
    started_[pid] = n;
    return pid;
  }

  Outcome Wait(pid_t pid) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    const int n = started_.at(pid);
    Outcome o{WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
              ReadFile(work_ / (".out" + std::to_string(n))), ReadFile(work_ / (".err" + std::to_string(n)))};
    return o;
  }

  Outcome Run(const std::vector<std::string>& args, const Env& env = {}, const std::string& input = "") {
    return Wait(Start(args, env, input));
  }
  // Runs stegoctl on a pseudo-terminal of its own, as a person at a terminal would: each reply of
  // `dialogue` is typed once its prompt has shown. Its output (stdout and stderr) is `out`.
  Outcome RunOnTerminal(const std::vector<std::string>& args,
                        const std::vector<std::pair<std::string, std::string>>& dialogue = {}) {
    Invocation call(args, Environment({}));
    int terminal = -1;
    const pid_t pid = ::forkpty(&terminal, nullptr, nullptr, nullptr);
    if (pid == 0) {
      if (::chdir(work_.c_str()) == 0) ::execve(STEGOCTL_BINARY, call.argv(), call.envp());
      ::_exit(127);
    }
    Outcome o;
    std::size_t next = 0, seen = 0;
    char buffer[4096];
    for (ssize_t n; (n = ::read(terminal, buffer, sizeof buffer)) > 0;) {  // EIO once the child has gone
      o.out.append(buffer, static_cast<std::size_t>(n));
      if (next < dialogue.size()) {
        if (const auto at = o.out.find(dialogue[next].first, seen); at != std::string::npos) {
          seen = at + dialogue[next].first.size();
          const std::string& reply = dialogue[next++].second;
          EXPECT_EQ(::write(terminal, reply.data(), reply.size()), static_cast<ssize_t>(reply.size()));
        }
      }
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    ::close(terminal);
    o.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return o;
  }
  Outcome Admin(const std::vector<std::string>& args) { return Run(args, {{"STEGOCTL_ADMIN_KEY", kAdminKey}}); }

  // An image with nothing hidden in it: one of the workers' synthetic dataset covers.
  std::string CleanImage(int index) {
    auto answer = Client(leader_).Get("/api/v1/dataset/" + std::to_string(index));
    EXPECT_EQ(answer.status, 200);
    return answer.body;
  }

  std::filesystem::path work_;
  std::string leader_;
  int runs_ = 0;
  std::map<pid_t, int> started_;
};

::testing::AssertionResult Exited(const Outcome& o, int code) {
  if (o.code == code) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "exit " << o.code << " (want " << code << ")\nstdout: " << o.out
                                       << "\nstderr: " << o.err;
}

TEST_F(Stegoctl, HidesAndRevealsAMessageAndAFile) {
  const Outcome hidden = Run({"embed", "--message", "meet at noon", "-O", "m.png"});
  ASSERT_TRUE(Exited(hidden, 0));
  EXPECT_NE(hidden.err.find("wrote m.png"), std::string::npos) << hidden.err;
  const Outcome shown = Run({"extract", "m.png"});
  ASSERT_TRUE(Exited(shown, 0));
  EXPECT_EQ(shown.out, "meet at noon") << "a message goes to stdout, byte for byte through a pipe";

  // A message from stdin, hidden under the server's filename.
  ASSERT_TRUE(Exited(Run({"embed", "--message-file", "-"}, {}, "line one\nline two\n"), 0));
  EXPECT_EQ(Run({"extract", "stego.png"}).out, "line one\nline two\n");

  // A binary file keeps its name: extracted, it comes back as payload.bin with the same bytes.
  std::string bytes(50'000, '\0');
  std::mt19937 random(1);
  for (char& c : bytes) c = static_cast<char>(random());
  WriteFile(work_ / "payload.bin", bytes);
  ASSERT_TRUE(Exited(Run({"embed", "--file", "payload.bin", "-O", "f.png"}), 0));
  std::filesystem::rename(work_ / "payload.bin", work_ / "original.bin");
  const Outcome recovered = Run({"extract", "f.png"});
  ASSERT_TRUE(Exited(recovered, 0));
  EXPECT_NE(recovered.err.find("recovered payload.bin"), std::string::npos) << recovered.err;
  EXPECT_EQ(ReadFile(work_ / "payload.bin"), bytes);

  // An existing file is kept (exit 10) unless --force; -O - writes to stdout.
  WriteFile(work_ / "payload.bin", "mine");
  EXPECT_TRUE(Exited(Run({"extract", "f.png"}), 10));
  EXPECT_EQ(ReadFile(work_ / "payload.bin"), "mine");
  EXPECT_TRUE(Exited(Run({"extract", "f.png", "--force"}), 0));
  EXPECT_EQ(ReadFile(work_ / "payload.bin"), bytes);
  EXPECT_EQ(Run({"extract", "f.png", "-O", "-"}).out, bytes);

  // A big upload shows its progress on a terminal, and none through a pipe.
  std::string big(2 << 20, '\0');
  for (char& c : big) c = static_cast<char>(random());
  WriteFile(work_ / "big.bin", big);
  const Outcome on_terminal = RunOnTerminal({"embed", "--file", "big.bin", "--lsb", "4", "-O", "big.png"});
  ASSERT_TRUE(Exited(on_terminal, 0));
  EXPECT_NE(on_terminal.out.find("upload   2.0 MiB / 2.0 MiB  100%"), std::string::npos) << on_terminal.out;
  const Outcome piped = Run({"embed", "--file", "big.bin", "--lsb", "4", "-O", "big2.png"});
  ASSERT_TRUE(Exited(piped, 0));
  EXPECT_EQ(piped.err.find("upload"), std::string::npos) << piped.err;

  // One thing to hide, exactly.
  EXPECT_TRUE(Exited(Run({"embed", "-O", "none.png"}), 2));
  EXPECT_TRUE(Exited(Run({"embed", "-m", "a", "--file", "original.bin"}), 2));
  EXPECT_TRUE(Exited(Run({"extract", "missing.png"}), 10));
}

TEST_F(Stegoctl, PasswordsComeFromTheEnvironmentAndEachPayloadErrorHasItsExitCode) {
  ASSERT_TRUE(Exited(Run({"embed", "-m", "the vault code", "-p", "-O", "p.png"}, {{"STEGOCTL_PASSWORD", "s3cret"}}), 0));
  const Outcome no_password = Run({"extract", "p.png"});
  EXPECT_TRUE(Exited(no_password, 7));
  EXPECT_NE(no_password.err.find("password required"), std::string::npos) << no_password.err;
  const Outcome wrong = Run({"extract", "p.png", "-p"}, {{"STEGOCTL_PASSWORD", "guess"}});
  EXPECT_TRUE(Exited(wrong, 7));
  EXPECT_NE(wrong.err.find("wrong password"), std::string::npos) << wrong.err;
  const Outcome right = Run({"extract", "p.png", "-p", "-o", "json"}, {{"STEGOCTL_PASSWORD", "s3cret"}});
  ASSERT_TRUE(Exited(right, 0));
  EXPECT_EQ(json::parse(right.out)["message"], "the vault code");
  // Typed at a terminal: asked twice when hiding, never echoed.
  const Outcome typed =
      RunOnTerminal({"embed", "-m", "typed in", "-p", "-O", "t.png"}, {{"Password: ", "Typ3d-pw\n"}, {"Again: ", "Typ3d-pw\n"}});
  ASSERT_TRUE(Exited(typed, 0));
  EXPECT_NE(typed.out.find("Password: "), std::string::npos) << typed.out;
  EXPECT_NE(typed.out.find("Again: "), std::string::npos) << typed.out;
  EXPECT_EQ(typed.out.find("Typ3d-pw"), std::string::npos) << "echoed: " << typed.out;
  EXPECT_EQ(Run({"extract", "t.png", "-p"}, {{"STEGOCTL_PASSWORD", "Typ3d-pw"}}).out, "typed in");
  const Outcome mistyped = RunOnTerminal({"embed", "-m", "x", "-p", "-O", "u.png"}, {{"Password: ", "one\n"}, {"Again: ", "two\n"}});
  EXPECT_TRUE(Exited(mistyped, 2));
  EXPECT_NE(mistyped.out.find("the passwords differ"), std::string::npos) << mistyped.out;
  // Asked for a password with none in the environment and no terminal to type it on.
  const Outcome untyped = Run({"embed", "-m", "x", "-p", "-O", "q.png"});
  EXPECT_TRUE(Exited(untyped, 2));
  EXPECT_NE(untyped.err.find("STEGOCTL_PASSWORD"), std::string::npos) << untyped.err;

  WriteFile(work_ / "clean.png", CleanImage(0));
  const Outcome nothing = Run({"extract", "clean.png"});
  EXPECT_TRUE(Exited(nothing, 6));
  EXPECT_NE(nothing.err.find("no hidden payload"), std::string::npos) << nothing.err;
  WriteFile(work_ / "notes.txt", "not an image");
  const Outcome refused = Run({"extract", "notes.txt"});
  EXPECT_TRUE(Exited(refused, 3));
  EXPECT_NE(refused.err.find("415"), std::string::npos) << refused.err;
}

TEST_F(Stegoctl, CapacityAnswersForEveryDepth) {
  WriteFile(work_ / "cover.png", CleanImage(1));
  const Outcome figures = Run({"capacity", "--cover", "cover.png", "-o", "json"});
  ASSERT_TRUE(Exited(figures, 0));
  const json by_lsb = json::parse(figures.out)["capacity_bytes_by_lsb"];
  ASSERT_EQ(by_lsb.size(), 4u);
  EXPECT_LT(by_lsb["1"].get<long>(), by_lsb["2"].get<long>());
  EXPECT_LT(by_lsb["3"].get<long>(), by_lsb["4"].get<long>());
  const Outcome table = Run({"capacity", "--cover", "cover.png"});
  ASSERT_TRUE(Exited(table, 0));
  EXPECT_NE(table.out.find("LSB BITS"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find(std::to_string(by_lsb["4"].get<long>()) + " B"), std::string::npos) << table.out;
  EXPECT_TRUE(Exited(Run({"capacity", "--lsb", "5"}), 2));
}

TEST_F(Stegoctl, CoversJobsAndConfigurationThroughAnyMember) {
  WriteFile(work_ / "beach.png", CleanImage(2));
  const Outcome added = Run({"covers", "add", "beach.png"});
  ASSERT_TRUE(Exited(added, 0));
  const std::string id = added.out.substr(0, 64);
  ASSERT_TRUE(std::regex_match(id, std::regex("[0-9a-f]{64}"))) << added.out;
  const Outcome listed = Run({"covers"});
  EXPECT_NE(listed.out.find(id.substr(0, 12) + "  beach.png"), std::string::npos) << listed.out;

  // A unique prefix names a cover, as the list shows it.
  ASSERT_TRUE(Exited(Run({"covers", "get", id.substr(0, 12), "-O", "back.png"}), 0));
  EXPECT_EQ(ReadFile(work_ / "back.png"), ReadFile(work_ / "beach.png"));
  ASSERT_TRUE(Exited(Run({"embed", "--cover-id", id.substr(0, 8), "-m", "on the beach", "-O", "b.png"}), 0));
  EXPECT_EQ(Run({"extract", "b.png"}).out, "on the beach");
  EXPECT_TRUE(Exited(Run({"covers", "get", "ffffffffffff"}), 4));

  // Removing takes the admin key.
  EXPECT_TRUE(Exited(Run({"covers", "rm", id.substr(0, 12)}), 5));
  ASSERT_TRUE(Exited(Admin({"covers", "rm", id.substr(0, 12)}), 0));
  EXPECT_TRUE(json::parse(Run({"covers", "-o", "json"}).out)["covers"].empty());

  // The jobs ledger lists this test's embeds and extracts, with the members that ran them.
  // (each member batches its records into the replicated ledger: they show within moments).
  Outcome jobs;
  const auto both_kinds = [&] {
    jobs = Run({"jobs", "--limit", "50", "-o", "json"});
    std::set<std::string> kinds;
    for (const json& j : json::parse(jobs.code == 0 ? jobs.out : "{}").value("jobs", json::array())) kinds.insert(j["kind"]);
    return kinds.count("embed") && kinds.count("extract");
  };
  EXPECT_TRUE(clustertest::Eventually(both_kinds)) << jobs.out << jobs.err;
  EXPECT_NE(Run({"jobs"}).out.find("MEMBER"), std::string::npos);

  // A replicated write through one member, read back through each (consistent reads).
  EXPECT_TRUE(Exited(Run({"config", "set", "max_pixels=12345678"}), 5));
  const Outcome set = Admin({"-s", Address(Follower(leader_)), "config", "set", "max_pixels=12345678", "default_lsb_bits=2"});
  ASSERT_TRUE(Exited(set, 0));
  EXPECT_NE(set.out.find("max_pixels         12345678"), std::string::npos) << set.out;
  for (const auto& [name, m] : members_) {
    const Outcome got = Run({"config", "-o", "json", "--server", Address(name)});
    ASSERT_TRUE(Exited(got, 0)) << name;
    EXPECT_EQ(json::parse(got.out)["config"]["max_pixels"], 12345678) << name;
  }
  EXPECT_TRUE(Exited(Admin({"config", "set", "max_pixels"}), 2));
}

TEST_F(Stegoctl, KeysGateTheApiOnceOneExists) {
  const Outcome created = Admin({"keys", "create", "ci-robot"});
  ASSERT_TRUE(Exited(created, 0));
  const std::string secret = created.out.substr(0, created.out.find('\n'));
  ASSERT_EQ(secret.rfind("stego_", 0), 0u) << created.out;
  EXPECT_NE(created.err.find("shown this once"), std::string::npos);

  const Outcome refused = Run({"embed", "-m", "x", "-O", "a.png"});
  EXPECT_TRUE(Exited(refused, 5));
  EXPECT_NE(refused.err.find("401"), std::string::npos) << refused.err;
  EXPECT_TRUE(Exited(Run({"embed", "-m", "x", "-O", "a.png"}, {{"STEGOCTL_API_KEY", secret}}), 0));
  EXPECT_TRUE(Exited(Run({"keys"}, {{"STEGOCTL_API_KEY", secret}}), 5)) << "a user key lists no keys";

  const Outcome listed = Admin({"keys", "-o", "json"});
  ASSERT_TRUE(Exited(listed, 0));
  const json keys = json::parse(listed.out)["keys"];
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0]["name"], "ci-robot");
  EXPECT_EQ(keys[0]["role"], "user");
  ASSERT_TRUE(Exited(Admin({"keys", "rm", keys[0]["id"]}), 0));
  EXPECT_TRUE(Exited(Run({"embed", "-m", "x", "-O", "b.png"}), 0)) << "no key left: open again";
}

TEST_F(Stegoctl, StatusShowsEveryMemberAndFaultsGoToTheMemberNamed) {
  WaitFullyFormed();
  const Outcome table = Run({"status"});
  ASSERT_TRUE(Exited(table, 0));
  EXPECT_NE(table.out.find("leader " + leader_), std::string::npos) << table.out;
  for (const auto& [name, m] : members_) EXPECT_NE(table.out.find(name + " "), std::string::npos) << table.out;
  const auto healthy = [&](const std::string& name) {
    const Outcome s = Run({"status", "-o", "json", "-s", Address(leader_)});
    for (const json& n : json::parse(s.out.empty() ? "{}" : s.out).value("nodes", json::array())) {
      if (n["id"] == name) return n["healthy"].get<bool>();
    }
    return false;
  };

  const std::string follower = Follower(leader_);
  ASSERT_TRUE(Exited(Admin({"fail", follower, "pause"}), 0));
  frozen_.insert(follower);
  EXPECT_TRUE(clustertest::Eventually([&] { return !healthy(follower); }));
  ASSERT_TRUE(Exited(Admin({"restore", follower}), 0));
  frozen_.erase(follower);
  EXPECT_TRUE(clustertest::Eventually([&] { return healthy(follower); }));

  const Outcome moved = Admin({"transfer", follower});
  ASSERT_TRUE(Exited(moved, 0));
  EXPECT_NE(moved.out.find("from " + leader_ + " to " + follower), std::string::npos) << moved.out;
  EXPECT_TRUE(clustertest::Eventually([&] { return AgreedLeader() == follower; }));

  EXPECT_TRUE(Exited(Run({"fail", follower, "pause"}), 5)) << "faults take the admin key";
  EXPECT_TRUE(Exited(Admin({"fail", follower, "explode"}), 2));
  EXPECT_TRUE(Exited(Admin({"fail", "node9", "pause"}), 4));
}

TEST_F(Stegoctl, SettingsComeFromFlagsThenTheEnvironmentThenTheConfigFile) {
  const std::string dead = "127.0.0.1:" + std::to_string(testsupport::FreeLoopbackPort());
  const auto config_file = root_ / "config/stegoctl/config";
  WriteFile(config_file, "server = " + dead + "\n");
  const Outcome nobody = Run({"config"}, {{"STEGOCTL_SERVER", ""}});
  EXPECT_TRUE(Exited(nobody, 9));
  EXPECT_NE(nobody.err.find("no server answered"), std::string::npos) << nobody.err;

  WriteFile(config_file, "server = " + Address(leader_) + "\nadmin-key = " + kAdminKey + "\n");
  std::filesystem::permissions(config_file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  const Outcome from_file = Run({"config", "set", "max_covers=77"}, {{"STEGOCTL_SERVER", ""}});
  EXPECT_TRUE(Exited(from_file, 0)) << "both from the file";
  EXPECT_EQ(from_file.err, "");
  std::filesystem::permissions(config_file, std::filesystem::perms::group_read, std::filesystem::perm_options::add);
  EXPECT_NE(Run({"config"}, {{"STEGOCTL_SERVER", ""}}).err.find("holds a key and others may read it"), std::string::npos);
  EXPECT_TRUE(Exited(Run({"config"}, {{"STEGOCTL_SERVER", dead}}), 9)) << "the environment over the file";
  EXPECT_TRUE(Exited(Run({"config", "-s", Address(leader_)}, {{"STEGOCTL_SERVER", dead}}), 0)) << "a flag over both";
  EXPECT_TRUE(Exited(Run({"config", "set", "max_covers=78"}, {{"STEGOCTL_ADMIN_KEY", "not-the-key"}}), 5))
      << "the environment's key over the file's";

  WriteFile(config_file, "colour = yes\n");
  const Outcome unknown = Run({"config"});
  EXPECT_TRUE(Exited(unknown, 2));
  EXPECT_NE(unknown.err.find(config_file.string()), std::string::npos) << unknown.err;
  std::filesystem::remove(config_file);
  EXPECT_TRUE(Exited(Run({"config", "-o", "yaml"}), 2));
  EXPECT_TRUE(Exited(Run({"frobnicate"}), 2));
  EXPECT_TRUE(Exited(Run({"embed", "--no-such-flag"}), 2));
  const Outcome help = Run({"embed", "--help"});
  EXPECT_TRUE(Exited(help, 0));
  EXPECT_NE(help.out.find("--message-file"), std::string::npos);
  const Outcome completion = Run({"completion", "bash"});
  EXPECT_TRUE(Exited(completion, 0));
  EXPECT_NE(completion.out.find("complete -o default -F _stegoctl stegoctl"), std::string::npos);
}

TEST_F(Stegoctl, BenchCountsEveryRequestAndTakesThePrototypesFlags) {
  const Outcome closed = Run({"bench", "--clients", "3", "--requests", "10", "--warmup", "0", "-o", "json"});
  ASSERT_TRUE(Exited(closed, 0));
  const json c = json::parse(closed.out);
  EXPECT_EQ(c["requests"], 30);
  EXPECT_EQ(c["ok"], 30);
  long by_member = 0;
  for (const auto& [member, n] : c["members"].items()) by_member += n.get<long>();
  EXPECT_EQ(by_member, 30);
  const json ms = c["latency_ms"];
  EXPECT_GT(ms["p50"].get<double>(), 0);
  EXPECT_LE(ms["p50"].get<double>(), ms["p99"].get<double>());
  EXPECT_LE(ms["p99"].get<double>(), ms["max"].get<double>());
  EXPECT_GT(c["throughput_rps"].get<double>(), 0);

  // The prototype loadgen's own flags.
  const Outcome loadgen = Run({"bench", "--mode", "extract", "--num-clients", "2", "--reqs-per-client", "5",
                               "--server-list", Servers(), "--warmup", "0", "-o", "json"});
  ASSERT_TRUE(Exited(loadgen, 0));
  EXPECT_EQ(json::parse(loadgen.out)["ok"], 10);

  // Open loop: at 40/s for 1 s exactly 40 requests are due, whatever their latency.
  const Outcome open = Run({"bench", "--mode", "mixed", "--rate", "40", "--duration", "1", "--warmup", "0", "-o", "json"});
  ASSERT_TRUE(Exited(open, 0));
  EXPECT_EQ(json::parse(open.out)["requests"], 40);
  const Outcome text = Run({"bench", "--clients", "1", "--requests", "3", "--warmup", "0"});
  ASSERT_TRUE(Exited(text, 0));
  EXPECT_NE(text.out.find("latency ms:  p50"), std::string::npos) << text.out;

  EXPECT_TRUE(Exited(Run({"bench", "--mode", "upload"}), 2));
  EXPECT_TRUE(Exited(Run({"bench", "--clients", "0"}), 2));
}

// kill -9 of the leader in the middle of a run: every request is accounted for (answered, or an
// error of a named kind), and the ones that met the dead member's address went again elsewhere.
TEST_F(Stegoctl, BenchThroughTheLeadersKill9ReportsTheFailover) {
  WaitFullyFormed();
  const pid_t bench = Start({"bench", "--clients", "4", "--requests", "100", "--warmup", "0", "-o", "json"});
  testsupport::HttpClient follower = Client(Follower(leader_));
  EXPECT_TRUE(clustertest::Eventually([&] {
    const auto jobs = follower.Get("/api/v1/jobs?limit=1000");
    return jobs.status == 200 && jobs.Json()["jobs"].size() >= 40;
  }, 60s));
  members_.at(leader_).process->Signal(SIGKILL);
  const Outcome run = Wait(bench);
  ASSERT_TRUE(Exited(run, 0));
  const json r = json::parse(run.out);
  EXPECT_EQ(r["requests"], 400);
  long errors = 0;
  for (const auto& [kind, n] : r["errors_by_kind"].items()) errors += n.get<long>();
  EXPECT_EQ(errors, r["errors"].get<long>());
  EXPECT_EQ(r["ok"].get<long>() + errors, 400);
  EXPECT_GT(r["retried"].get<long>(), 0) << run.out;
  EXPECT_GE(r["latency_ms"]["max"].get<double>(), r["latency_ms"]["p99"].get<double>());
  std::cerr << "through the kill: " << run.out;
}

}  // namespace
