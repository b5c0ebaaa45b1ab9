// The CORS policy on its own: origin parsing, matching, preflight answers and answer fields.
// (Over real sockets, with the server applying it: server_test.cc.)
#include "worker/http/cors.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace http {
namespace {

CorsPolicy PolicyFor(std::vector<std::string> origins) {
  return CorsPolicy({.allows = [origins = std::move(origins)](std::string_view o) { return OriginListed(origins, o); },
                     .allowed_headers = {"Authorization", "Content-Type", "X-Request-Id"},
                     .exposed_headers = {"X-Request-Id", "Retry-After"},
                     .max_age = std::chrono::seconds(600)});
}

Request Preflight(std::string origin, std::string method, std::string headers = "") {
  Request request;
  request.method = "OPTIONS";
  request.request_id = "rid-1";
  request.headers.Add("Origin", std::move(origin));
  request.headers.Add("Access-Control-Request-Method", std::move(method));
  if (!headers.empty()) request.headers.Add("Access-Control-Request-Headers", std::move(headers));
  return request;
}

std::string Normalized(std::string_view text) {
  auto origin = NormalizeOrigin(text);
  return origin ? *origin : "error: " + origin.error();
}

TEST(CorsOrigin, OperatorSpellingsAreNormalizedToWhatBrowsersSend) {
  EXPECT_EQ(Normalized("http://127.0.0.1:8090"), "http://127.0.0.1:8090");
  EXPECT_EQ(Normalized("HTTPS://Console.Example.COM/"), "https://console.example.com");
  EXPECT_EQ(Normalized("http://[::1]:8080"), "http://[::1]:8080");
  EXPECT_EQ(Normalized("http://[::1]"), "http://[::1]");
  EXPECT_EQ(Normalized("*"), "*");
}

TEST(CorsOrigin, AnythingButSchemeHostAndPortIsRefusedWithTheReason) {
  for (const char* bad : {"", "127.0.0.1:8090", "ftp://x.example", "http://", "http://x.example/app",
                          "http://x.example?q", "http://user@x.example", "http://x.example:0", "http://x.example:70000",
                          "http://x.example:", "http://bad_host", "null", "http://x y"}) {
    const auto origin = NormalizeOrigin(bad);
    ASSERT_FALSE(origin) << bad;
    EXPECT_NE(origin.error().find("is not an origin"), std::string::npos) << origin.error();
  }
  EXPECT_FALSE(NormalizeOrigin("http://" + std::string(400, 'a')));
}

TEST(CorsOrigin, ListsAreCommaSeparatedWithBlanksIgnoredAndDuplicatesDropped) {
  const auto list = ParseOriginList(" http://a.example , ,HTTP://A.example,https://b.example:8443");
  ASSERT_TRUE(list) << list.error();
  EXPECT_EQ(*list, (std::vector<std::string>{"http://a.example", "https://b.example:8443"}));
  EXPECT_TRUE(ParseOriginList("")->empty());
  const auto bad = ParseOriginList("http://a.example,oops");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("'oops'"), std::string::npos) << bad.error();
}

TEST(CorsOrigin, ListedMeansEqualOrAStar) {
  EXPECT_TRUE(OriginListed({"http://a.example"}, "http://a.example"));
  EXPECT_TRUE(OriginListed({"http://a.example"}, "HTTP://A.EXAMPLE"));
  EXPECT_FALSE(OriginListed({"http://a.example"}, "http://a.example:8080"));
  EXPECT_FALSE(OriginListed({"http://a.example"}, "https://a.example"));
  EXPECT_FALSE(OriginListed({}, "http://a.example"));
  EXPECT_TRUE(OriginListed({"*"}, "http://anything.example"));
}

TEST(CorsPolicyTest, PreflightOfAnAllowedOriginNamesThePathsMethodsAndEchoesAllowedHeaders) {
  const CorsPolicy policy = PolicyFor({"http://gui.example"});
  Response r = policy.Preflight(Preflight("http://gui.example", "POST", "content-type, x-request-id"), "GET, HEAD, POST");
  policy.Decorate("http://gui.example", r);
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.headers.Get("Access-Control-Allow-Origin"), "http://gui.example");
  EXPECT_EQ(r.headers.Get("Access-Control-Allow-Methods"), "GET, HEAD, POST");
  EXPECT_EQ(r.headers.Get("Access-Control-Allow-Headers"), "content-type, x-request-id");
  EXPECT_EQ(r.headers.Get("Access-Control-Max-Age"), "600");
  EXPECT_EQ(r.headers.Get("Vary"), "Origin");
}

TEST(CorsPolicyTest, PreflightAskingForAnUnlistedHeaderGetsTheAllowedList) {
  const CorsPolicy policy = PolicyFor({"http://gui.example"});
  EXPECT_EQ(policy.Preflight(Preflight("http://gui.example", "POST", "Content-Type, X-Secret"), "POST")
                .headers.Get("Access-Control-Allow-Headers"),
            "Authorization, Content-Type, X-Request-Id");
  EXPECT_EQ(policy.Preflight(Preflight("http://gui.example", "GET"), "GET").headers.Get("Access-Control-Allow-Headers"),
            "Authorization, Content-Type, X-Request-Id");
}

TEST(CorsPolicyTest, PreflightOfAnotherOriginIsA403NamingIt) {
  const CorsPolicy policy = PolicyFor({"http://gui.example"});
  Response r = policy.Preflight(Preflight("http://evil.example", "POST"), "POST");
  policy.Decorate("http://evil.example", r);
  EXPECT_EQ(r.status, 403);
  const auto body = nlohmann::json::parse(r.body);
  EXPECT_EQ(body["code"], "origin_not_allowed");
  EXPECT_EQ(body["origin"], "http://evil.example");
  EXPECT_EQ(body["request_id"], "rid-1");
  EXPECT_FALSE(r.headers.Has("Access-Control-Allow-Origin"));
  EXPECT_FALSE(r.headers.Has("Access-Control-Allow-Methods"));
}

TEST(CorsPolicyTest, AnswersCarryTheFieldsOnlyForAnAllowedOriginAndAlwaysVary) {
  const CorsPolicy policy = PolicyFor({"http://gui.example"});
  Response allowed = Response::Text(200, "x");
  policy.Decorate("http://gui.example", allowed);
  EXPECT_EQ(allowed.headers.Get("Access-Control-Allow-Origin"), "http://gui.example");
  EXPECT_EQ(allowed.headers.Get("Access-Control-Expose-Headers"), "X-Request-Id, Retry-After");

  Response other = Response::Text(200, "x");
  other.headers.Set("Vary", "Accept");
  policy.Decorate("http://evil.example", other);
  EXPECT_FALSE(other.headers.Has("Access-Control-Allow-Origin"));
  EXPECT_FALSE(other.headers.Has("Access-Control-Expose-Headers"));
  EXPECT_EQ(other.headers.Get("Vary"), "Accept, Origin");

  Response none = Response::Text(200, "x");
  policy.Decorate("", none);
  EXPECT_EQ(none.headers.Get("Vary"), "Origin") << "a cache must not serve this answer to a page of another origin";
  EXPECT_FALSE(none.headers.Has("Access-Control-Allow-Origin"));
}

TEST(CorsPolicyTest, OnlyOptionsWithOriginAndRequestMethodIsAPreflight) {
  EXPECT_TRUE(CorsPolicy::IsPreflight(Preflight("http://a.example", "POST")));
  Request plain_options;
  plain_options.method = "OPTIONS";
  plain_options.headers.Add("Origin", "http://a.example");
  EXPECT_FALSE(CorsPolicy::IsPreflight(plain_options));
  Request get = Preflight("http://a.example", "GET");
  get.method = "GET";
  EXPECT_FALSE(CorsPolicy::IsPreflight(get));
}

}  // namespace
}  // namespace http
