#include "tests/support/process_under_test.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <thread>

#include "tests/support/test_helpers.h"

extern char** environ;

namespace testsupport {
namespace {

std::string DefaultOutputPath(const std::string& binary) {
  static std::atomic<int> counter{0};
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  const std::string base = binary.substr(binary.find_last_of('/') + 1);
  return dir + "/put-" + base + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".log";
}

int DecodeStatus(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return -1;
}

// Under the sanitizer runs (tests/sanitize/run.sh sets STEGO_SANITIZER_REPORT_DIR), a child's
// sanitizer report must fail the run even when the test never reads the child's output or exit
// status (a report while it shuts down, say): the output is copied into that directory, and any
// file there fails the run. ASan and TSan also write their reports there themselves (log_path);
// UBSan, combined with ASan by GCC, writes only to stderr, i.e. to this output.
void KeepSanitizerReport(const std::string& output, pid_t pid) {
  const char* dir = std::getenv("STEGO_SANITIZER_REPORT_DIR");
  if (dir == nullptr || *dir == '\0') return;
  for (const char* marker : {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "WARNING: ThreadSanitizer",
                             ": runtime error: "}) {
    if (output.find(marker) != std::string::npos) {
      std::ofstream(std::string(dir) + "/child-output." + std::to_string(pid), std::ios::binary) << output;
      return;
    }
  }
}

}  // namespace

ProcessUnderTest::ProcessUnderTest(Options options) : options_(std::move(options)) {
  if (options_.output_path.empty()) options_.output_path = DefaultOutputPath(options_.binary);
  try {
    Spawn();
  } catch (...) {
    if (!options_.keep_output) ::unlink(options_.output_path.c_str());
    throw;
  }
  if (options_.wait_listening) {
    try {
      WaitListening();
    } catch (...) {
      Stop();  // the exception carries the output; the destructor will not run
      if (!options_.keep_output) ::unlink(options_.output_path.c_str());
      throw;
    }
  }
}

ProcessUnderTest::~ProcessUnderTest() {
  Stop();
  KeepSanitizerReport(Output(), pid_);
  const char* keep = std::getenv("STEGO_KEEP_TEST_LOGS");
  if (!options_.keep_output && !(keep != nullptr && std::string_view(keep) == "1")) {
    ::unlink(options_.output_path.c_str());
  }
}

void ProcessUnderTest::Spawn() {
  // Everything the child needs is prepared before fork(): between fork and exec only
  // async-signal-safe calls are allowed (the test process has other threads).
  std::vector<std::string> argv_storage;
  argv_storage.push_back(options_.binary);
  argv_storage.insert(argv_storage.end(), options_.args.begin(), options_.args.end());
  std::vector<char*> argv;
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);

  std::vector<std::string> env_storage;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    const std::string name = entry.substr(0, entry.find('='));
    bool drop = false;
    for (const auto& [key, value] : options_.env) drop = drop || key == name;
    for (const auto& key : options_.unset_env) drop = drop || key == name;
    if (!drop) env_storage.push_back(entry);
  }
  for (const auto& [key, value] : options_.env) env_storage.push_back(key + "=" + value);
  std::vector<char*> envp;
  for (auto& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);

  const int out = ::open(options_.output_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) throw std::runtime_error("cannot create " + options_.output_path + ": " + std::strerror(errno));
  const int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int exec_pipe[2];  // the child reports a failed exec through it; a successful exec closes it
  if (devnull < 0 || ::pipe2(exec_pipe, O_CLOEXEC) != 0) {
    ::close(out);
    if (devnull >= 0) ::close(devnull);
    throw std::runtime_error(std::string("pipe/open failed: ") + std::strerror(errno));
  }
  const pid_t parent = ::getpid();

  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(out);
    ::close(devnull);
    ::close(exec_pipe[0]);
    ::close(exec_pipe[1]);
    throw std::runtime_error(std::string("fork failed: ") + std::strerror(err));
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl took effect
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig : {SIGTERM, SIGINT, SIGPIPE, SIGHUP}) ::sigaction(sig, &dfl, nullptr);
    ::dup2(devnull, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    ::execve(argv[0], argv.data(), envp.data());
    const int err = errno;
    (void)!::write(exec_pipe[1], &err, sizeof err);
    ::_exit(127);
  }

  ::close(out);
  ::close(devnull);
  ::close(exec_pipe[1]);
  pid_ = pid;
  ::setpgid(pid, pid);  // also from the parent, so the group exists before we might signal it
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(exec_pipe[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  ::close(exec_pipe[0]);
  if (n > 0) {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    Reap(status);
    throw std::runtime_error("cannot execute " + options_.binary + ": " + std::strerror(child_errno));
  }
}

std::uint16_t ProcessUnderTest::WaitListening() {
  const auto deadline = std::chrono::steady_clock::now() + ScaledWait(options_.startup_timeout);
  while (true) {
    const std::string out = Output();
    if (const std::size_t at = out.find(options_.listening_marker); at != std::string::npos) {
      std::size_t start = at + options_.listening_marker.size();
      std::size_t end = start;
      while (end < out.size() && out[end] != '\n' && out[end] != '\r' && out[end] != ' ' && out[end] != '"') ++end;
      const std::string endpoint = out.substr(start, end - start);
      const std::size_t colon = endpoint.rfind(':');
      if (colon != std::string::npos && colon + 1 < endpoint.size() && end < out.size()) {
        std::string host = endpoint.substr(0, colon);
        if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
        const int port = std::atoi(endpoint.c_str() + colon + 1);
        if (port <= 0 || port > 65535) throw std::runtime_error("bad listening line: " + endpoint);
        host_ = host == "0.0.0.0" ? "127.0.0.1" : host == "::" ? "::1" : host;
        port_ = static_cast<std::uint16_t>(port);
        return port_;
      }
    }
    if (!Running()) {
      throw std::runtime_error(options_.binary + " exited with status " + std::to_string(exit_status_.value_or(-1)) +
                               " before listening; output:\n" + out);
    }
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error(options_.binary + " did not print '" + options_.listening_marker + "<host>:<port>' within " +
                               std::to_string(ScaledWait(options_.startup_timeout).count()) + " ms; output:\n" + out);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string ProcessUnderTest::Output() const {
  std::ifstream in(options_.output_path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void ProcessUnderTest::Reap(int wait_status) {
  exit_status_ = DecodeStatus(wait_status);
  // The child is gone; kill any of its own children left in its group.
  ::kill(-pid_, SIGKILL);
}

bool ProcessUnderTest::Running() {
  if (pid_ <= 0 || exit_status_) return false;
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    Reap(status);
    return false;
  }
  return true;
}

void ProcessUnderTest::Signal(int signal) {
  if (pid_ > 0 && !exit_status_) ::kill(-pid_, signal);
}

std::optional<int> ProcessUnderTest::WaitExit(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + ScaledWait(timeout);
  while (Running()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return exit_status_;
}

int ProcessUnderTest::Stop() {
  if (pid_ <= 0) return -1;
  if (!exit_status_) {
    Signal(SIGTERM);
    if (!WaitExit(options_.stop_grace)) {
      Signal(SIGKILL);
      int status = 0;
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      Reap(status);
    }
  }
  return *exit_status_;
}

}  // namespace testsupport
