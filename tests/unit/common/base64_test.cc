// Base64 (common/base64.h): RFC 4648's test vectors (§10), the URL-safe unpadded form, and what the
// decoder refuses.
#include "common/base64.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace common {
namespace {

std::string Encode(std::string_view bytes) {
  std::string out;
  AppendBase64(out, {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
  return out;
}

TEST(Base64, Rfc4648TestVectors) {
  const std::vector<std::pair<std::string, std::string>> vectors = {
      {"", ""},         {"f", "Zg=="},       {"fo", "Zm8="},         {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [bytes, text] : vectors) {
    EXPECT_EQ(Encode(bytes), text) << bytes;
    EXPECT_EQ(Base64Decode(text), bytes) << text;
  }
}

TEST(Base64, AppendsAfterWhatIsThere) {
  std::string out = "{\"b64\":\"";
  AppendBase64(out, std::vector<uint8_t>{0xfb, 0xff});
  EXPECT_EQ(out, "{\"b64\":\"+/8=");
}

TEST(Base64, UrlSafeUsesMinusAndUnderscoreWithoutPadding) {
  EXPECT_EQ(Base64UrlEncode(std::vector<uint8_t>{0xfb, 0xff}), "-_8");
  EXPECT_EQ(Base64UrlEncode(std::string_view("f")), "Zg");
  EXPECT_EQ(Base64UrlEncode(std::string_view("foo")), "Zm9v");
  EXPECT_EQ(Base64UrlEncode(std::string(32, '\xff')).size(), 43u) << "32 bytes: 43 characters, no '='";
}

TEST(Base64, EveryByteValueRoundTrips) {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  EXPECT_EQ(Base64Decode(Encode(all)), all);
}

TEST(Base64, DecodeRefusesWhatIsNotPaddedBase64) {
  EXPECT_EQ(Base64Decode("Zg"), std::nullopt) << "unpadded";
  EXPECT_EQ(Base64Decode("Zm9"), std::nullopt);
  EXPECT_EQ(Base64Decode("Zm$v"), std::nullopt);
  EXPECT_EQ(Base64Decode("-_8="), std::nullopt) << "the URL-safe alphabet is not the standard one";
  EXPECT_EQ(Base64Decode("Zm9v\nYmFy"), std::nullopt) << "line breaks are the caller's to remove";
}

}  // namespace
}  // namespace common
