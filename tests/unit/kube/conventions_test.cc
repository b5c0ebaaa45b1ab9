// REST paths, query encoding, base64, API time formats, Status errors and the retry rule.
#include <gtest/gtest.h>

#include "operator/kube/api_error.h"
#include "operator/kube/conventions.h"

namespace {

using namespace std::chrono_literals;

TEST(ResourcePathTest, CoreGroupAndNamedGroups) {
  EXPECT_EQ(*kube::ResourcePath(kube::resources::kConfigMaps, "ns", "cm"), "/api/v1/namespaces/ns/configmaps/cm");
  EXPECT_EQ(*kube::ResourcePath(kube::resources::kConfigMaps, "ns"), "/api/v1/namespaces/ns/configmaps");
  EXPECT_EQ(*kube::ResourcePath(kube::resources::kConfigMaps, ""), "/api/v1/configmaps");  // all namespaces
  EXPECT_EQ(*kube::ResourcePath(kube::resources::kStatefulSets, "ns", "web", "scale"),
            "/apis/apps/v1/namespaces/ns/statefulsets/web/scale");
  EXPECT_EQ(*kube::ResourcePath(kube::resources::kNamespaces, "ignored", "prod"), "/api/v1/namespaces/prod");
  EXPECT_EQ(*kube::ResourcePath({"stegocluster.io", "v1alpha1", "stegoclusters"}, "ns", "a", "status"),
            "/apis/stegocluster.io/v1alpha1/namespaces/ns/stegoclusters/a/status");
}

TEST(ResourcePathTest, RefusesSegmentsThatWouldEscape) {
  const auto error = [](auto result) { return result ? std::string("no error") : result.error(); };
  EXPECT_NE(error(kube::ResourcePath(kube::resources::kConfigMaps, "ns", "../secrets")).find("may not contain '/'"),
            std::string::npos);
  EXPECT_NE(error(kube::ResourcePath(kube::resources::kConfigMaps, "ns", "..")).find("not a valid name"), std::string::npos);
  EXPECT_NE(error(kube::ResourcePath(kube::resources::kConfigMaps, "n%2Fs", "x")).find("namespace"), std::string::npos);
  EXPECT_NE(error(kube::ResourcePath(kube::resources::kConfigMaps, "ns", std::string("a\nb"))).find("control"),
            std::string::npos);
  EXPECT_NE(error(kube::ResourcePath(kube::resources::kConfigMaps, "", "x")).find("namespace is required"),
            std::string::npos);
  EXPECT_NE(error(kube::ResourcePath(kube::resources::kConfigMaps, "ns", "", "status")).find("needs a name"),
            std::string::npos);
  EXPECT_FALSE(kube::ResourcePath({"", "", "configmaps"}, "ns"));
}

TEST(QueryStringTest, PercentEncodesKeysAndValues) {
  EXPECT_EQ(kube::QueryString({}), "");
  EXPECT_EQ(kube::QueryString({{"labelSelector", "app in (a,b),tier!=db"}, {"limit", "5"}}),
            "?labelSelector=app%20in%20%28a%2Cb%29%2Ctier%21%3Ddb&limit=5");
  EXPECT_EQ(kube::PercentEncode("a+b/c?d=e&f~_.-"), "a%2Bb%2Fc%3Fd%3De%26f~_.-");
}

TEST(Base64Test, DecodesAndRefusesGarbage) {
  EXPECT_EQ(*kube::DecodeBase64("aGVsbG8="), "hello");
  EXPECT_EQ(*kube::DecodeBase64("aGVs\nbG8h"), "hello!");
  EXPECT_EQ(*kube::DecodeBase64("aA=="), "h");
  EXPECT_EQ(*kube::DecodeBase64(""), "");
  EXPECT_FALSE(kube::DecodeBase64("abc"));
  EXPECT_FALSE(kube::DecodeBase64("ab$="));
}

TEST(TimeFormatTest, TimeAndMicroTimeRoundTrip) {
  const kube::WallTime t = kube::WallTime(std::chrono::seconds(1767225600)) + 123456us;  // 2026-01-01T00:00:00Z
  EXPECT_EQ(kube::FormatTime(t), "2026-01-01T00:00:00Z");
  EXPECT_EQ(kube::FormatMicroTime(t), "2026-01-01T00:00:00.123456Z");
  EXPECT_EQ(*kube::ParseTime("2026-01-01T00:00:00.123456Z"), t);
  EXPECT_EQ(*kube::ParseTime("2026-01-01T00:00:00Z"), kube::WallTime(std::chrono::seconds(1767225600)));
  EXPECT_EQ(*kube::ParseTime("2026-01-01T02:00:00+02:00"), kube::WallTime(std::chrono::seconds(1767225600)));
  EXPECT_FALSE(kube::ParseTime("2026-01-01"));
  EXPECT_FALSE(kube::ParseTime("2026-01-01T00:00:00"));
  EXPECT_FALSE(kube::ParseTime("2026-01-01T00:00:00Zjunk"));
  EXPECT_FALSE(kube::ParseTime("2026-01-01T00:00:00.Z"));
}

TEST(ApiErrorTest, ReadsAStatusBody) {
  const auto error = kube::ErrorFromResponse(
      403,
      R"({"kind":"Status","apiVersion":"v1","status":"Failure","message":"configmaps \"x\" is forbidden: User \"u\" cannot get resource","reason":"Forbidden","code":403})",
      "", "get", R"(configmaps "x" in namespace "ns")");
  EXPECT_TRUE(error.Forbidden());
  EXPECT_EQ(error.reason, "Forbidden");
  EXPECT_EQ(error.Describe(),
            R"(forbidden: RBAC refused to let this client get configmaps "x" in namespace "ns": configmaps "x" is forbidden: User "u" cannot get resource)");

  const auto conflict = kube::ErrorFromResponse(409, R"({"kind":"Status","reason":"Conflict","message":"stale"})", "",
                                                "update", "configmaps \"x\"");
  EXPECT_TRUE(conflict.Conflict());
  EXPECT_FALSE(conflict.AlreadyExists());
  const auto exists = kube::ErrorFromResponse(409, R"({"kind":"Status","reason":"AlreadyExists"})", "", "create", "");
  EXPECT_TRUE(exists.AlreadyExists());
  EXPECT_FALSE(exists.Conflict());
  EXPECT_TRUE(kube::ErrorFromResponse(200, R"({"kind":"Status","reason":"Expired","code":410})", "", "watch", "").Gone());
  EXPECT_TRUE(kube::ErrorFromResponse(410, "", "", "watch", "").Gone());
}

// Found by fuzzing the watch stream (tests/fuzz/corpus/watch_stream/crash-status-*): json::value()
// threw type_error for a Status member that is not a string. Such members now read as absent.
TEST(ApiErrorTest, StatusMembersOfAnotherTypeReadAsAbsent) {
  const auto error = kube::ErrorFromResponse(500, R"({"kind":"Status","reason":["x"],"message":410})", "", "watch", "");
  EXPECT_EQ(error.http_status, 500);
  EXPECT_EQ(error.reason, "");
  EXPECT_EQ(error.message, "");
  const auto not_status = kube::ErrorFromResponse(500, R"({"kind":0})", "", "watch", "");
  EXPECT_EQ(not_status.message, R"({"kind":0})");  // not a Status: the body is the message
}

TEST(ApiErrorTest, NonStatusBodiesAndRetryAfter) {
  const std::string html(1000, 'x');
  const auto error = kube::ErrorFromResponse(502, html, "7", "list", "pods");
  EXPECT_EQ(error.message.size(), 303u);  // cut to 300 characters and "..."
  ASSERT_TRUE(error.retry_after);
  EXPECT_EQ(*error.retry_after, 7s);
  EXPECT_EQ(error.Describe().substr(0, 32), "list pods failed with HTTP 502: ");
  EXPECT_FALSE(kube::ErrorFromResponse(429, "", "Wed, 21 Oct 2015 07:28:00 GMT", "get", "").retry_after);
  EXPECT_FALSE(kube::ErrorFromResponse(429, "", "-3", "get", "").retry_after);
}

kube::ApiError Error(int status, std::string verb, std::optional<std::chrono::seconds> retry_after = std::nullopt) {
  kube::ApiError e;
  e.http_status = status;
  e.verb = std::move(verb);
  e.retry_after = retry_after;
  return e;
}

TEST(RetryDelayTest, FollowsTheRetryRule) {
  const kube::RetryPolicy policy;  // 5 attempts, 200 ms doubling to 5 s, Retry-After up to 30 s
  // 429: every verb, Retry-After honoured.
  EXPECT_EQ(kube::RetryDelay(policy, Error(429, "create", 3s), 1), 3000ms);
  EXPECT_EQ(kube::RetryDelay(policy, Error(429, "create"), 1), 200ms);
  EXPECT_FALSE(kube::RetryDelay(policy, Error(429, "get", 60s), 1));  // too long to wait: returned
  // 5xx and transport failures: idempotent verbs only, with exponential back-off.
  EXPECT_EQ(kube::RetryDelay(policy, Error(503, "get"), 1), 200ms);
  EXPECT_EQ(kube::RetryDelay(policy, Error(500, "update"), 2), 400ms);
  EXPECT_EQ(kube::RetryDelay(policy, Error(0, "delete"), 3), 800ms);
  EXPECT_EQ(kube::RetryDelay(policy, Error(503, "apply", 1s), 4), 1000ms);
  EXPECT_FALSE(kube::RetryDelay(policy, Error(503, "create"), 1));
  EXPECT_FALSE(kube::RetryDelay(policy, Error(0, "create"), 1));
  // The last attempt and final errors are not retried.
  EXPECT_FALSE(kube::RetryDelay(policy, Error(503, "get"), 5));
  for (int status : {400, 403, 404, 409, 410, 422}) EXPECT_FALSE(kube::RetryDelay(policy, Error(status, "get"), 1));
  kube::ApiError invalid = kube::ClientError("Invalid", "bad name", "get", "");
  EXPECT_FALSE(kube::RetryDelay(policy, invalid, 1));
  kube::RetryPolicy capped;
  capped.max_attempts = 20;
  EXPECT_EQ(kube::RetryDelay(capped, Error(503, "get"), 15), 5000ms);
}

}  // namespace
