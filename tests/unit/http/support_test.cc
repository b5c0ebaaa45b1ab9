// The test-support helpers themselves: ProcessUnderTest against a real server binary and against
// misbehaving processes, and the multipart builder against our parser.
#include <gtest/gtest.h>
#include <signal.h>

#include <cerrno>

#include "tests/support/http_client.h"
#include "tests/support/process_under_test.h"
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
