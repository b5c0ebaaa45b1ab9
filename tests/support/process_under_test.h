// ProcessUnderTest: runs a binary (the real stego-worker, say) as a child process for the length of
// a test, and guarantees it is gone afterwards.
//
//   testsupport::ProcessUnderTest worker({.binary = "bin/stego-worker", .args = {"--http", "127.0.0.1:0"}});
//   testsupport::HttpClient client(worker.host(), worker.port());
//
// The child's stdout and stderr go to one file (output_path(); Output() reads it, e.g. to print it
// when a test fails; deleted afterwards unless kept);
// the constructor waits until that output contains "listening on <host>:<port>" (the line the
// worker logs once its socket is bound) and parses the port from it. The child runs in its own
// process group; the destructor sends SIGTERM to the group, waits `stop_grace`, then SIGKILL. The
// child also gets PR_SET_PDEATHSIG=SIGKILL, so it dies with the test process even if that crashes
// (the kernel ties this to the thread that created the child: create it on the test's main thread).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace testsupport {

class ProcessUnderTest {
 public:
  // Every field has a default member initializer, so designated initializers may omit any of them
  // without GCC's -Wmissing-field-initializers.
  struct Options {
    std::string binary{};                                      // a path; PATH is not searched
    std::vector<std::string> args{};                           // without argv[0]
    std::vector<std::pair<std::string, std::string>> env{};    // set (overriding) in the inherited environment
    std::vector<std::string> unset_env{};                      // removed from the inherited environment
    std::string output_path{};                                 // default: a fresh file under $TMPDIR or /tmp
    bool keep_output = false;                                  // else deleted by the destructor, unless
                                                               // STEGO_KEEP_TEST_LOGS=1 is set
    bool wait_listening = true;                                // constructor waits for the marker
    std::string listening_marker = "listening on ";
    std::chrono::milliseconds startup_timeout{20'000};          // scaled by ScaledWait (test_helpers.h)
    std::chrono::milliseconds stop_grace{5'000};
  };

  // Starts the process (and waits for it to listen if asked). Throws std::runtime_error, with the
  // child's output, when it cannot start, exits early or does not listen in time; the child is
  // killed before the exception leaves.
  explicit ProcessUnderTest(Options options);
  ~ProcessUnderTest();  // Stop()
  ProcessUnderTest(const ProcessUnderTest&) = delete;
  ProcessUnderTest& operator=(const ProcessUnderTest&) = delete;

  // Waits for "<marker><host>:<port>" in the output and returns the port.
  std::uint16_t WaitListening();

  const std::string& host() const { return host_; }
  std::uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& output_path() const { return options_.output_path; }
  std::string Output() const;  // everything the child has written so far

  bool Running();
  // Sends a signal to the child's process group.
  void Signal(int signal);
  // Waits for the child to exit; returns its status (exit code, or 128 + signal number), or nullopt
  // on timeout (scaled by ScaledWait).
  std::optional<int> WaitExit(std::chrono::milliseconds timeout);
  // SIGTERM, then SIGKILL after stop_grace; returns the exit status. Idempotent.
  int Stop();

 private:
  void Spawn();
  void Reap(int wait_status);

  Options options_;
  pid_t pid_ = -1;
  std::optional<int> exit_status_;
  std::string host_;
  std::uint16_t port_ = 0;
};

}  // namespace testsupport
