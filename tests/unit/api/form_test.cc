// Form (worker/api/form.h): an endpoint's multipart fields, checked against the fields it takes.
// Every refusal is already the HTTP answer: 400 invalid_parameter naming the field, or the
// multipart parser's own status and code.
#include "worker/api/form.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

#include "tests/support/http_client.h"

namespace api {
namespace {

using testsupport::MultipartBuilder;

http::Request RequestWith(const MultipartBuilder& form) {
  http::Request request;
  request.method = "POST";
  request.request_id = "req-1";
  request.headers.Add("Content-Type", form.ContentType());
  request.body = form.Body();
  return request;
}

// The answer's status, code and the field it names.
struct Refusal {
  int status;
  std::string code;
  std::string field;
};

Refusal RefusalOf(const http::Response& response) {
  const auto body = nlohmann::json::parse(response.body);
  return {response.status, body.value("code", ""), body.value("field", "")};
}

const http::MultipartLimits kLimits;

TEST(Form, ReadsTheFieldsItTakes) {
  const http::Request request =
      RequestWith(MultipartBuilder().Field("message", "hello").File("cover", "a.png", "image/png", "PNG"));
  auto form = Form::Parse(request, {"cover", "message", "lsb_bits"}, kLimits);
  ASSERT_TRUE(form.has_value());
  EXPECT_EQ(form->Text("message"), "hello");
  ASSERT_NE(form->Get("cover"), nullptr);
  EXPECT_EQ(form->Get("cover")->filename, "a.png");
  EXPECT_EQ(form->Get("cover")->data, "PNG");
  EXPECT_EQ(form->Text("lsb_bits"), std::nullopt) << "a field the endpoint takes may be absent";
  EXPECT_EQ(form->Get("lsb_bits"), nullptr);
}

TEST(Form, AnEmptyBodyIsAFormWithoutFields) {
  http::Request request;
  request.method = "POST";
  auto form = Form::Parse(request, {"cover"}, kLimits);
  ASSERT_TRUE(form.has_value());
  EXPECT_EQ(form->Get("cover"), nullptr);
}

TEST(Form, AnUnknownFieldIsRefusedAndTheKnownOnesListed) {
  // A typo must not be ignored silently: the caller would embed at the default depth.
  const http::Request request = RequestWith(MultipartBuilder().Field("message", "hi").Field("lsb_bit", "2"));
  auto form = Form::Parse(request, {"message", "lsb_bits"}, kLimits);
  ASSERT_FALSE(form.has_value());
  const Refusal refusal = RefusalOf(form.error());
  EXPECT_EQ(refusal.status, 400);
  EXPECT_EQ(refusal.code, "invalid_parameter");
  EXPECT_EQ(refusal.field, "lsb_bit");
  EXPECT_NE(form.error().body.find("message, lsb_bits"), std::string::npos) << form.error().body;
}

TEST(Form, ARepeatedFieldIsRefused) {
  const http::Request request = RequestWith(MultipartBuilder().Field("message", "a").Field("message", "b"));
  auto form = Form::Parse(request, {"message"}, kLimits);
  ASSERT_FALSE(form.has_value());
  const Refusal refusal = RefusalOf(form.error());
  EXPECT_EQ(refusal.status, 400);
  EXPECT_EQ(refusal.field, "message");
}

TEST(Form, AMalformedBodyIsTheParsersAnswer) {
  http::Request request = RequestWith(MultipartBuilder().Field("message", "a"));
  request.body.resize(request.body.size() - 10);  // no close delimiter
  auto form = Form::Parse(request, {"message"}, kLimits);
  ASSERT_FALSE(form.has_value());
  EXPECT_EQ(RefusalOf(form.error()).status, 400);
  EXPECT_EQ(RefusalOf(form.error()).code, "multipart_truncated");

  request.headers.Set("Content-Type", "application/json");
  EXPECT_EQ(RefusalOf(Form::Parse(request, {"message"}, kLimits).error()).status, 415);
}

TEST(Form, LimitsAreThoseOfTheCaller) {
  http::MultipartLimits limits;
  limits.max_parts = 1;
  const http::Request request = RequestWith(MultipartBuilder().Field("a", "1").Field("b", "2"));
  auto form = Form::Parse(request, {"a", "b"}, limits);
  ASSERT_FALSE(form.has_value());
  EXPECT_EQ(RefusalOf(form.error()).status, 413);
  EXPECT_EQ(RefusalOf(form.error()).code, "multipart_too_many_parts");
}

TEST(Form, TextIsTheFieldsBytesAsGiven) {
  const http::Request request = RequestWith(MultipartBuilder().Field("password", " two words \xff").Field("empty", ""));
  auto form = Form::Parse(request, {"password", "empty"}, kLimits);
  ASSERT_TRUE(form.has_value());
  EXPECT_EQ(form->Text("password"), " two words \xff") << "no trimming, no decoding";
  EXPECT_EQ(form->Text("empty"), "") << "present but empty is not absent";
}

TEST(Form, IntWithinItsRange) {
  const http::Request request = RequestWith(MultipartBuilder().Field("low", "1").Field("high", "4"));
  auto form = Form::Parse(request, {"low", "high", "absent"}, kLimits);
  ASSERT_TRUE(form.has_value());
  EXPECT_EQ(*form->Int(request, "low", 1, 4, 2), 1);
  EXPECT_EQ(*form->Int(request, "high", 1, 4, 2), 4);
  EXPECT_EQ(*form->Int(request, "absent", 1, 4, 2), 2) << "the fallback when absent";
}

TEST(Form, IntRefusesWhatIsNotAnIntegerInRange) {
  for (const std::string text : {"0", "5", "-1", "", " 2", "2 ", "2.0", "+2", "0x2", "two", "99999999999999999999"}) {
    const http::Request request = RequestWith(MultipartBuilder().Field("lsb_bits", text));
    auto form = Form::Parse(request, {"lsb_bits"}, kLimits);
    ASSERT_TRUE(form.has_value());
    auto value = form->Int(request, "lsb_bits", 1, 4, 1);
    ASSERT_FALSE(value.has_value()) << "'" << text << "' was read as " << *value;
    const Refusal refusal = RefusalOf(value.error());
    EXPECT_EQ(refusal.status, 400) << text;
    EXPECT_EQ(refusal.field, "lsb_bits") << text;
    EXPECT_NE(value.error().body.find("from 1 to 4"), std::string::npos) << value.error().body;
  }
}

TEST(Form, IntQuotesAtMost32CharactersOfWhatItRefused) {
  const http::Request request = RequestWith(MultipartBuilder().Field("n", std::string(1000, 'x')));
  auto form = Form::Parse(request, {"n"}, kLimits);
  ASSERT_TRUE(form.has_value());
  auto value = form->Int(request, "n", 1, 4, 1);
  ASSERT_FALSE(value.has_value());
  EXPECT_NE(value.error().body.find("'" + std::string(32, 'x') + "'"), std::string::npos);
  EXPECT_EQ(value.error().body.find(std::string(33, 'x')), std::string::npos);
}

}  // namespace
}  // namespace api
