// The web console's files as the real stego-worker serves them (worker/api/console_routes.h):
// index.html at /, the rest at /console/<name>, each with the Content-Security-Policy, the cache
// policy its name calls for, an ETag, and gzip when the client takes it.
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "tests/api/worker_fixture.h"
#include "tests/support/test_helpers.h"

namespace apitest {
namespace {

std::string Gunzip(const std::string& bytes) {
  z_stream z{};
  inflateInit2(&z, 15 + 16);
  std::string out(1 << 20, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  z.avail_in = static_cast<uInt>(bytes.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = inflate(&z, Z_FINISH);
  out.resize(z.total_out);
  inflateEnd(&z);
  return rc == Z_STREAM_END ? out : "(not gzip)";
}

class Console : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = testsupport::FreshScratchDirectory("stego-console", "files");
    index_ = "<!doctype html><html lang=\"en\"><title>stego</title>" + std::string(2000, ' ') +
             "<script src=\"/console/app.1a2b.js\"></script></html>\n";
    script_ = "console.log('" + std::string(5000, 'x') + "');\n";
    std::ofstream(dir_ / "index.html") << index_;
    std::ofstream(dir_ / "app.1a2b.js") << script_;
    std::filesystem::create_directories(dir_ / "nested");
    std::ofstream(dir_ / "nested" / "secret.txt") << "not served";
    worker_ = new ProcessUnderTest(WorkerOptions({"--console-dir", dir_.string()}));
  }
  static void TearDownTestSuite() {
    delete worker_;
    std::filesystem::remove_all(dir_);
  }
  static HttpResponse Get(const std::string& target, const testsupport::HeaderList& headers = {}) {
    HttpClient http(worker_->host(), worker_->port());
    return http.Get(target, headers);
  }

  static inline std::filesystem::path dir_;
  static inline std::string index_, script_;
  static inline ProcessUnderTest* worker_ = nullptr;
};

TEST_F(Console, TheIndexIsServedAtTheRootUnderAPolicyThatForbidsInlineCode) {
  const auto page = Get("/");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.body, index_);
  EXPECT_EQ(page.Header("Content-Type"), "text/html; charset=utf-8");
  const std::string policy = page.Header("Content-Security-Policy").value_or("");
  EXPECT_NE(policy.find("default-src 'none'"), std::string::npos) << policy;
  EXPECT_NE(policy.find("script-src 'self';"), std::string::npos) << policy;
  EXPECT_NE(policy.find("style-src 'self';"), std::string::npos) << policy;
  EXPECT_EQ(policy.find("unsafe-inline"), std::string::npos) << policy;
  EXPECT_NE(policy.find("frame-ancestors 'none'"), std::string::npos) << policy;
  EXPECT_EQ(page.Header("Cache-Control"), "no-cache") << "revalidated on every load, so a new build shows at once";
  EXPECT_EQ(page.Header("X-Content-Type-Options"), "nosniff");
}

TEST_F(Console, AnUnchangedIndexIsNotSentAgain) {
  const std::string etag = Get("/").Header("ETag").value_or("");
  ASSERT_EQ(etag.size(), 34u) << etag;
  const auto again = Get("/", {{"If-None-Match", etag}});
  EXPECT_EQ(again.status, 304);
  EXPECT_EQ(again.body, "");
  EXPECT_EQ(Get("/", {{"If-None-Match", "\"something-else\""}}).status, 200);
}

TEST_F(Console, GzipOnlyForClientsThatTakeIt) {
  const auto zipped = Get("/console/app.1a2b.js", {{"Accept-Encoding", "gzip, br"}});
  ASSERT_EQ(zipped.status, 200);
  EXPECT_EQ(zipped.Header("Content-Encoding"), "gzip");
  EXPECT_LT(zipped.body.size(), script_.size() / 10);
  EXPECT_EQ(Gunzip(zipped.body), script_);
  EXPECT_NE(zipped.Header("Vary").value_or("").find("Accept-Encoding"), std::string::npos);
  const auto plain = Get("/console/app.1a2b.js");
  EXPECT_FALSE(plain.Header("Content-Encoding").has_value());
  EXPECT_EQ(plain.body, script_);
}

TEST_F(Console, HashedFilesAreCachedForAYear) {
  const auto script = Get("/console/app.1a2b.js");
  ASSERT_EQ(script.status, 200);
  EXPECT_EQ(script.Header("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(script.Header("Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(Get("/console/index.html").Header("Cache-Control"), "no-cache");
}

TEST_F(Console, NothingOutsideTheDirectoryOrUnderItsSubdirectoriesIsServed) {
  for (const char* target : {"/console/nope.js", "/console/nested/secret.txt", "/console/../../etc/passwd",
                             "/console/%2e%2e%2fetc%2fpasswd", "/console/nested"}) {
    const auto answer = Get(target);
    EXPECT_EQ(answer.status, 404) << target;
    EXPECT_EQ(answer.body.find("not served"), std::string::npos) << target;
  }
}

TEST(ConsoleAbsent, TheRootSaysTheConsoleWasNotBuilt) {
  ProcessUnderTest worker(WorkerOptions({"--no-console"}));
  HttpClient http(worker.host(), worker.port());
  const auto answer = http.Get("/");
  EXPECT_EQ(answer.status, 404);
  EXPECT_EQ(answer.Json()["code"], "console_not_built");
}

TEST(ConsoleAbsent, ADirectoryWithoutAnIndexStopsTheWorkerAtStart) {
  const auto empty = testsupport::FreshScratchDirectory("stego-console", "empty");
  try {
    ProcessUnderTest worker(WorkerOptions({"--console-dir", empty.string()}));
    ADD_FAILURE() << "the worker started";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("holds no index.html"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(empty);
}

}  // namespace
}  // namespace apitest
