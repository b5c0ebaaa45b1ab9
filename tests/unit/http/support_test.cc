// The test-support helpers themselves: ProcessUnderTest against a real server binary and against
// misbehaving processes, and the multipart builder against our parser.
#include <gtest/gtest.h>
#include <signal.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "tests/support/http_client.h"
#include "tests/support/process_under_test.h"
#include "tests/support/test_helpers.h"
#include "worker/http/multipart.h"

namespace {

using namespace std::chrono_literals;
using testsupport::ProcessUnderTest;

bool ProcessGone(pid_t pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

TEST(ProcessUnderTestTest, RunsAServerLearnsItsPortAndStopsItGracefully) {
  pid_t pid = -1;
  {
    ProcessUnderTest server({.binary = HTTP_TEST_SERVER, .args = {"127.0.0.1", "0"}});
    pid = server.pid();
    EXPECT_EQ(server.host(), "127.0.0.1");
    ASSERT_GT(server.port(), 0);
    testsupport::HttpClient client(server.host(), server.port(), 5s);
    EXPECT_EQ(client.Get("/healthz").body, "ok");
    EXPECT_EQ(client.Post("/echo", "round trip", "text/plain").body, "round trip");
    EXPECT_EQ(server.Stop(), 0) << "SIGTERM leads to a clean exit\n" << server.Output();
    EXPECT_NE(server.Output().find("stopped"), std::string::npos) << server.Output();
  }
  EXPECT_TRUE(ProcessGone(pid));
}

TEST(ProcessUnderTestTest, DestructorKillsAProcessThatIgnoresSigterm) {
  pid_t pid = -1;
  {
    ProcessUnderTest p({.binary = "/bin/sh",
                        .args = {"-c", "trap '' TERM; echo 'ready: listening on 127.0.0.1:4567'; sleep 30"},
                        .stop_grace = 200ms});
    pid = p.pid();
    EXPECT_EQ(p.port(), 4567);
    EXPECT_TRUE(p.Running());
  }
  EXPECT_TRUE(ProcessGone(pid)) << "SIGKILL after the grace period, and reaped";
}

TEST(ProcessUnderTestTest, EarlyExitIsReportedWithTheOutput) {
  try {
    ProcessUnderTest p({.binary = "/bin/sh", .args = {"-c", "echo 'config error: bad flag' >&2; exit 3"}});
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("status 3"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("config error: bad flag"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ProcessUnderTest({.binary = "/nonexistent/binary"}), std::runtime_error);
}

TEST(ProcessUnderTestTest, StartupTimeoutKillsTheChild) {
  try {
    ProcessUnderTest p({.binary = "/bin/sh", .args = {"-c", "echo $MARK; sleep 30"},
                        .env = {{"MARK", "env-passed"}}, .startup_timeout = 200ms});
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("env-passed"), std::string::npos) << e.what();
  }
}

// tests/sanitize/run.sh fails a run on a child's sanitizer report that no test looked at: the
// child's output is copied into STEGO_SANITIZER_REPORT_DIR. The test points that variable at a
// directory of its own, so this fake report never fails a real sanitizer run.
TEST(ProcessUnderTestTest, KeepsTheOutputOfAChildThatReportedForTheSanitizerRun) {
  const char* outer = std::getenv("STEGO_SANITIZER_REPORT_DIR");
  const std::string saved = outer != nullptr ? outer : "";
  const auto dir = testsupport::FreshScratchDirectory("support-test", "sanitizer-report");
  ::setenv("STEGO_SANITIZER_REPORT_DIR", dir.c_str(), 1);
  pid_t clean = -1;
  pid_t reported = -1;
  {
    ProcessUnderTest p({.binary = "/bin/sh", .args = {"-c", "echo fine"}, .wait_listening = false});
    clean = p.pid();
    p.WaitExit(5s);
  }
  {
    ProcessUnderTest p({.binary = "/bin/sh",
                        .args = {"-c", "echo 'x.cc:1:2: runtime error: signed integer overflow' >&2; exit 1"},
                        .wait_listening = false});
    reported = p.pid();
    p.WaitExit(5s);
  }
  if (saved.empty()) {
    ::unsetenv("STEGO_SANITIZER_REPORT_DIR");
  } else {
    ::setenv("STEGO_SANITIZER_REPORT_DIR", saved.c_str(), 1);
  }
  EXPECT_FALSE(std::filesystem::exists(dir / ("child-output." + std::to_string(clean))));
  EXPECT_TRUE(std::filesystem::exists(dir / ("child-output." + std::to_string(reported))));
  std::filesystem::remove_all(dir);
}

TEST(MultipartBuilderTest, BuildsWhatTheParserReadsBack) {
  testsupport::MultipartBuilder form;
  form.Field("message", "hi \"there\"").File("file", "we\"ird.png", "image/png", std::string("\0\r\n--x", 6));
  auto parsed = http::ParseMultipart(form.ContentType(), form.Body());
  ASSERT_TRUE(parsed) << parsed.error().message;
  ASSERT_EQ(parsed->parts.size(), 2u);
  EXPECT_EQ(parsed->parts[0].data, "hi \"there\"");
  EXPECT_EQ(parsed->parts[1].filename, "we\"ird.png");
  EXPECT_EQ(parsed->parts[1].content_type, "image/png");
  EXPECT_EQ(parsed->parts[1].data, std::string("\0\r\n--x", 6));
}

}  // namespace
