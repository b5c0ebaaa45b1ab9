#include "worker/http/router.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace http {
namespace {

Handler Returns(std::string text) {
  return [text](Request&) { return Response::Text(200, text); };
}

std::string CallHandler(const Router::Match& m) {
  Request req;
  return m.route->handler(req).body;
}

TEST(RouterTest, MatchesLiteralAndParameterSegments) {
  Router router;
  router.Add("GET", "/healthz", Returns("health"));
  router.Add("GET", "/api/v1/dataset/{i}", Returns("dataset"), {.name = "dataset"});

  auto m = router.Find("GET", "/healthz");
  ASSERT_EQ(m.outcome, Router::Outcome::kFound);
  EXPECT_EQ(CallHandler(m), "health");
  EXPECT_EQ(m.route->info.options.name, "/healthz") << "the name defaults to the pattern";

  m = router.Find("GET", "/api/v1/dataset/42");
  ASSERT_EQ(m.outcome, Router::Outcome::kFound);
  EXPECT_EQ(CallHandler(m), "dataset");
  EXPECT_EQ(m.params.at("i"), "42");
  EXPECT_EQ(m.route->info.options.name, "dataset");
}

TEST(RouterTest, UnknownPathsAreNotFound) {
  Router router;
  router.Add("GET", "/api/v1/dataset/{i}", Returns("dataset"));
  EXPECT_EQ(router.Find("GET", "/api/v1/dataset").outcome, Router::Outcome::kNotFound);
  EXPECT_EQ(router.Find("GET", "/api/v1/dataset/").outcome, Router::Outcome::kNotFound) << "a parameter is never empty";
  EXPECT_EQ(router.Find("GET", "/api/v1/dataset/1/2").outcome, Router::Outcome::kNotFound);
  EXPECT_EQ(router.Find("GET", "/nothing").outcome, Router::Outcome::kNotFound);
  EXPECT_EQ(router.Find("GET", "").outcome, Router::Outcome::kNotFound);
  EXPECT_EQ(router.Find("GET", "relative").outcome, Router::Outcome::kNotFound);
}

TEST(RouterTest, WrongMethodIsMethodNotAllowedWithAllowList) {
  Router router;
  router.Add("POST", "/api/v1/embed", Returns("embed"));
  router.Add("GET", "/api/v1/jobs/{id}", Returns("job"));
  router.Add("DELETE", "/api/v1/jobs/{id}", Returns("delete"));

  auto m = router.Find("GET", "/api/v1/embed");
  EXPECT_EQ(m.outcome, Router::Outcome::kMethodNotAllowed);
  EXPECT_EQ(m.allow, "POST");

  m = router.Find("PUT", "/api/v1/jobs/7");
  EXPECT_EQ(m.outcome, Router::Outcome::kMethodNotAllowed);
  EXPECT_EQ(m.allow, "DELETE, GET, HEAD") << "GET routes also answer HEAD";
}

TEST(RouterTest, HeadFallsBackToGetUnlessAHeadRouteExists) {
  Router router;
  router.Add("GET", "/a", Returns("get-a"));
  router.Add("GET", "/b", Returns("get-b"));
  router.Add("HEAD", "/b", Returns("head-b"));
  auto m = router.Find("HEAD", "/a");
  ASSERT_EQ(m.outcome, Router::Outcome::kFound);
  EXPECT_EQ(CallHandler(m), "get-a");
  m = router.Find("HEAD", "/b");
  ASSERT_EQ(m.outcome, Router::Outcome::kFound);
  EXPECT_EQ(CallHandler(m), "head-b");
}

TEST(RouterTest, MostSpecificPatternWinsWhateverTheOrder) {
  Router router;
  router.Add("GET", "/files/{rest...}", Returns("tail"));
  router.Add("GET", "/jobs/{id}", Returns("param"));
  router.Add("GET", "/jobs/stats", Returns("literal"));
  router.Add("GET", "/{a}/{b}", Returns("two-params"));

  EXPECT_EQ(CallHandler(router.Find("GET", "/jobs/stats")), "literal");
  EXPECT_EQ(CallHandler(router.Find("GET", "/jobs/17")), "param");
  EXPECT_EQ(CallHandler(router.Find("GET", "/other/17")), "two-params");
  EXPECT_EQ(CallHandler(router.Find("GET", "/files/x")), "tail")
      << "a literal first segment beats a parameter one";
}

TEST(RouterTest, TailParameterTakesTheRestOfThePath) {
  Router router;
  router.Add("GET", "/ui/{file...}", Returns("ui"));
  auto m = router.Find("GET", "/ui/js/app.js");
  ASSERT_EQ(m.outcome, Router::Outcome::kFound);
  EXPECT_EQ(m.params.at("file"), "js/app.js");
  m = router.Find("GET", "/ui/");
  ASSERT_EQ(m.outcome, Router::Outcome::kFound);
  EXPECT_EQ(m.params.at("file"), "");
  m = router.Find("GET", "/ui");
  ASSERT_EQ(m.outcome, Router::Outcome::kFound);
  EXPECT_EQ(m.params.at("file"), "");
  EXPECT_EQ(router.Find("GET", "/uix/a").outcome, Router::Outcome::kNotFound);
}

TEST(RouterTest, RejectsBadPatternsAndDuplicates) {
  Router router;
  router.Add("GET", "/a/{id}", Returns("a"));
  EXPECT_THROW(router.Add("GET", "/a/{other}", Returns("b")), std::invalid_argument) << "same shape, same method";
  EXPECT_NO_THROW(router.Add("POST", "/a/{id}", Returns("c")));
  EXPECT_THROW(router.Add("GET", "no-slash", Returns("x")), std::invalid_argument);
  EXPECT_THROW(router.Add("GET", "/x/{}", Returns("x")), std::invalid_argument);
  EXPECT_THROW(router.Add("GET", "/x/a{id}", Returns("x")), std::invalid_argument);
  EXPECT_THROW(router.Add("GET", "/x/{rest...}/y", Returns("x")), std::invalid_argument);
  EXPECT_THROW(router.Add("GET", "/x", Handler()), std::invalid_argument);
}

TEST(RouterTest, RoutesListsEveryRouteInOrder) {
  Router router;
  router.Add("GET", "/healthz", Returns("h"), {.name = "healthz", .quiet = true});
  router.Add("POST", "/api/v1/embed", Returns("e"), {.name = "embed", .compute = true, .max_body_bytes = 10});
  const auto routes = router.Routes();
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_EQ(routes[0].method, "GET");
  EXPECT_EQ(routes[0].pattern, "/healthz");
  EXPECT_TRUE(routes[0].options.quiet);
  EXPECT_EQ(routes[1].method, "POST");
  EXPECT_EQ(routes[1].pattern, "/api/v1/embed");
  EXPECT_TRUE(routes[1].options.compute);
  EXPECT_EQ(routes[1].options.max_body_bytes, 10u);
}

TEST(RequestTest, PercentDecodingAndQueryParsing) {
  EXPECT_EQ(PercentDecode("/a%20b/%41", false), "/a b/A");
  EXPECT_EQ(PercentDecode("a+b", false), "a+b");
  EXPECT_EQ(PercentDecode("a+b", true), "a b");
  EXPECT_FALSE(PercentDecode("%4", false));
  EXPECT_FALSE(PercentDecode("%zz", false));
  EXPECT_FALSE(PercentDecode("%00", false)) << "a decoded NUL is refused";

  auto q = ParseQuery("a=1&b=hello+world&c&&d=%2F");
  ASSERT_TRUE(q);
  ASSERT_EQ(q->size(), 4u);
  EXPECT_EQ((*q)[1].second, "hello world");
  EXPECT_EQ((*q)[2].first, "c");
  EXPECT_EQ((*q)[2].second, "");
  EXPECT_EQ((*q)[3].second, "/");
  EXPECT_FALSE(ParseQuery("a=%G0"));

  Request r;
  r.query = *q;
  r.headers.Add("Content-Type", "text/plain");
  EXPECT_EQ(r.Query("b"), "hello world");
  EXPECT_FALSE(r.Query("zz"));
  EXPECT_EQ(r.Header("content-type"), "text/plain") << "header names are case-insensitive";
}

}  // namespace
}  // namespace http
