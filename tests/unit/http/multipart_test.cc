#include "worker/http/multipart.h"

#include <gtest/gtest.h>

#include <random>

#include "tests/support/http_client.h"

namespace http {
namespace {

constexpr std::string_view kType = "multipart/form-data; boundary=XyZ";

using Result = common::Expected<MultipartForm, MultipartError>;

Result Parse(std::string_view body, const MultipartLimits& limits = {}) { return ParseMultipart(kType, body, limits); }

MultipartErrc ErrcOf(const Result& r) {
  EXPECT_FALSE(r.has_value());
  return r.has_value() ? MultipartErrc::kNotMultipart : r.error().code;
}

// Feeds `body` in the given chunk sizes (cycled), then Finish.
Result ParseSplit(std::string_view body, const std::vector<std::size_t>& sizes, const MultipartLimits& limits = {}) {
  auto boundary = BoundaryFromContentType(kType);
  MultipartParser parser(*boundary, limits);
  std::size_t pos = 0, k = 0;
  while (pos < body.size()) {
    const std::size_t n = std::min(sizes[k++ % sizes.size()], body.size() - pos);
    if (auto ok = parser.Feed(body.substr(pos, n)); !ok) return common::Unexpected<MultipartError>{ok.error()};
    pos += n;
  }
  if (auto ok = parser.Finish(); !ok) return common::Unexpected<MultipartError>{ok.error()};
  return parser.TakeForm();
}

void ExpectSame(const Result& a, const Result& b, const std::string& what) {
  ASSERT_EQ(a.has_value(), b.has_value()) << what;
  if (a.has_value()) {
    EXPECT_EQ(a->parts, b->parts) << what;
  } else {
    EXPECT_EQ(a.error(), b.error()) << what << ": " << a.error().message << " vs " << b.error().message;
  }
}

std::string Body(std::initializer_list<std::string_view> pieces) {
  std::string out;
  for (auto p : pieces) out += p;
  return out;
}

const std::string kCurlLike = Body({
    "--XyZ\r\n",
    "Content-Disposition: form-data; name=\"message\"\r\n",
    "\r\n",
    "hello world\r\n",
    "--XyZ\r\n",
    "Content-Disposition: form-data; name=\"file\"; filename=\"photo.png\"\r\n",
    "Content-Type: image/png\r\n",
    "\r\n",
    "\x89PNG\r\n\x1a\n binary \r\n-- not a boundary\r\n",
    "--XyZ--\r\n",
});

TEST(MultipartTest, ParsesFieldsAndFiles) {
  auto r = Parse(kCurlLike);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->parts.size(), 2u);
  EXPECT_EQ(r->parts[0].name, "message");
  EXPECT_FALSE(r->parts[0].filename);
  EXPECT_EQ(r->parts[0].content_type, "text/plain") << "the RFC 7578 default";
  EXPECT_EQ(r->parts[0].data, "hello world");
  EXPECT_EQ(r->parts[1].name, "file");
  EXPECT_EQ(r->parts[1].filename, "photo.png");
  EXPECT_EQ(r->parts[1].content_type, "image/png");
  EXPECT_EQ(r->parts[1].data, "\x89PNG\r\n\x1a\n binary \r\n-- not a boundary");
  ASSERT_NE(r->Find("file"), nullptr);
  EXPECT_EQ(r->Find("missing"), nullptr);
}

TEST(MultipartTest, BinaryDataWithEveryByteValueSurvives) {
  std::string data;
  for (int round = 0; round < 3; ++round) {
    for (int b = 0; b < 256; ++b) data += static_cast<char>(b);
    data += "\r\n--Xy\r\r\n-";  // delimiter prefixes that stop short
  }
  const std::string body =
      "--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"all.bin\"\r\n\r\n" + data + "\r\n--XyZ--";
  auto r = Parse(body);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->parts.size(), 1u);
  EXPECT_EQ(r->parts[0].data, data);
}

TEST(MultipartTest, DelimiterLookalikesInsideDataAreData) {
  const std::string data = "a\r\n--XyQ b\r\r\n\n-\r\n-\r\n--Xy";
  const std::string body = "--XyZ\r\nContent-Disposition: form-data; name=\"d\"\r\n\r\n" + data + "\r\n--XyZ--\r\n";
  auto r = Parse(body);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->parts[0].data, data);
}

TEST(MultipartTest, QuotedBoundaryWithSpacesAndOtherParameters) {
  const std::string body =
      "--a b'()+_,-./:=?\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--a b'()+_,-./:=?--";
  auto r = ParseMultipart("Multipart/Form-Data ; charset=utf-8; boundary=\"a b'()+_,-./:=?\"", body);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->parts.size(), 1u);
  EXPECT_EQ(r->parts[0].name, "x") << "a token name is accepted too";
  EXPECT_EQ(r->parts[0].data, "1");
}

TEST(MultipartTest, BoundaryParameterErrors) {
  auto errc = [](std::string_view ct) {
    auto b = BoundaryFromContentType(ct);
    EXPECT_FALSE(b.has_value()) << ct;
    return b.has_value() ? MultipartErrc::kNotMultipart : b.error().code;
  };
  EXPECT_EQ(errc("application/json"), MultipartErrc::kNotMultipart);
  EXPECT_EQ(errc("multipart/mixed; boundary=x"), MultipartErrc::kNotMultipart);
  EXPECT_EQ(errc("multipart/form-data"), MultipartErrc::kBadBoundary);
  EXPECT_EQ(errc("multipart/form-data; charset=utf-8"), MultipartErrc::kBadBoundary);
  EXPECT_EQ(errc("multipart/form-data; boundary=\"\""), MultipartErrc::kBadBoundary);
  EXPECT_EQ(errc("multipart/form-data; boundary=" + std::string(71, 'a')), MultipartErrc::kBadBoundary);
  EXPECT_EQ(errc("multipart/form-data; boundary=\"ends with space \""), MultipartErrc::kBadBoundary);
  EXPECT_EQ(errc("multipart/form-data; boundary=\"bad\x01char\""), MultipartErrc::kBadContentType);
  EXPECT_EQ(errc("multipart/form-data; boundary=\"bad*char\""), MultipartErrc::kBadBoundary);
  EXPECT_EQ(errc("multipart/form-data; boundary=\"unterminated"), MultipartErrc::kBadContentType);
  EXPECT_EQ(errc("multipart/form-data; boundary=a; boundary=b"), MultipartErrc::kBadContentType);
  EXPECT_EQ(errc("multipart/form-data; boundary"), MultipartErrc::kBadContentType);
  EXPECT_TRUE(BoundaryFromContentType("multipart/form-data; boundary=" + std::string(70, 'a')));

  EXPECT_EQ(HttpStatusOf(MultipartErrc::kNotMultipart), 415);
  EXPECT_EQ(HttpStatusOf(MultipartErrc::kBadBoundary), 400);
  EXPECT_EQ(MultipartErrcName(MultipartErrc::kBadBoundary), "multipart_bad_boundary");
}

TEST(MultipartTest, PreambleEpilogueAndTransportPadding) {
  const std::string body =
      "This is the preamble.\r\nIt is ignored.\r\n--XyZ \t\r\n"
      "Content-Disposition: form-data; name=\"a\"\r\n\r\nA\r\n--XyZ\t\r\n"
      "Content-Disposition: form-data; name=\"b\"\r\n\r\nB\r\n--XyZ--  \r\n"
      "This is the epilogue, also ignored. --XyZ\r\n garbage";
  auto r = Parse(body);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->parts.size(), 2u);
  EXPECT_EQ(r->parts[0].data, "A");
  EXPECT_EQ(r->parts[1].data, "B");
}

TEST(MultipartTest, FilenamesWithEscapesAndEmptyParts) {
  const std::string body =
      "--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"my \\\"best\\\" photo.png\"\r\n\r\n\r\n"
      "--XyZ\r\ncontent-disposition: FORM-DATA;name=\"e\";filename=\"\"\r\n\r\n\r\n"
      "--XyZ\r\nContent-Disposition: form-data; name=\"na\xc3\xafve\"; filename=\"caf\xc3\xa9.txt\"; "
      "filename*=UTF-8''caf%C3%A9.txt\r\nContent-Transfer-Encoding: binary\r\n\r\nx\r\n"
      "--XyZ--";
  auto r = Parse(body);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->parts.size(), 3u);
  EXPECT_EQ(r->parts[0].filename, "my \"best\" photo.png");
  EXPECT_EQ(r->parts[0].data, "") << "an empty part is a part with no data";
  EXPECT_EQ(r->parts[1].filename, "") << "an empty filename is still a file part";
  EXPECT_EQ(r->parts[2].name, "na\xc3\xafve");
  EXPECT_EQ(r->parts[2].filename, "caf\xc3\xa9.txt");
}

TEST(MultipartTest, AFormWithNoPartsIsEmpty) {
  auto r = Parse("--XyZ--\r\n");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->parts.empty());
}

TEST(MultipartTest, MissingClosingDelimiterIsTruncated) {
  EXPECT_EQ(ErrcOf(Parse("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nA\r\n")), MultipartErrc::kTruncated);
  EXPECT_EQ(ErrcOf(Parse("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nA\r\n--XyZ")),
            MultipartErrc::kTruncated);
  EXPECT_EQ(ErrcOf(Parse("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n")), MultipartErrc::kTruncated);
  EXPECT_EQ(ErrcOf(Parse("no delimiter at all")), MultipartErrc::kTruncated);
  EXPECT_EQ(ErrcOf(Parse("")), MultipartErrc::kTruncated);
}

TEST(MultipartTest, StrictCrlfAroundDelimiters) {
  // Delimiter followed by something other than padding+CRLF or "--".
  EXPECT_EQ(ErrcOf(Parse("--XyZjunk\r\n")), MultipartErrc::kMalformedDelimiter);
  EXPECT_EQ(ErrcOf(Parse("--XyZ-\r\n")), MultipartErrc::kMalformedDelimiter);
  EXPECT_EQ(ErrcOf(Parse("--XyZ\n")), MultipartErrc::kMalformedDelimiter) << "LF-only line ends are refused";
  EXPECT_EQ(ErrcOf(Parse("--XyZ\rX")), MultipartErrc::kMalformedDelimiter);
  EXPECT_EQ(ErrcOf(Parse("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nA\r\n--XyZ--junk")),
            MultipartErrc::kMalformedDelimiter);
  EXPECT_EQ(ErrcOf(Parse("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nA\r\n--XyZ--\r")),
            MultipartErrc::kMalformedDelimiter);
  // A boundary that is only a prefix of the line in the body.
  EXPECT_EQ(ErrcOf(Parse("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nA\r\n--XyZW\r\n")),
            MultipartErrc::kMalformedDelimiter);
}

TEST(MultipartTest, PartHeaderErrors) {
  auto with_headers = [](std::string_view headers) {
    return Parse("--XyZ\r\n" + std::string(headers) + "\r\nA\r\n--XyZ--\r\n");
  };
  EXPECT_EQ(ErrcOf(with_headers("")), MultipartErrc::kBadContentDisposition) << "no Content-Disposition";
  EXPECT_EQ(ErrcOf(with_headers("Content-Type: text/plain\r\n")), MultipartErrc::kBadContentDisposition);
  EXPECT_EQ(ErrcOf(with_headers("Content-Disposition: attachment; name=\"a\"\r\n")),
            MultipartErrc::kBadContentDisposition);
  EXPECT_EQ(ErrcOf(with_headers("Content-Disposition: form-data; filename=\"a\"\r\n")),
            MultipartErrc::kBadContentDisposition)
      << "no name";
  EXPECT_EQ(ErrcOf(with_headers("Content-Disposition: form-data; name=\"\"\r\n")), MultipartErrc::kBadContentDisposition);
  EXPECT_EQ(ErrcOf(with_headers("Content-Disposition: form-data; name=\"a\r\n")), MultipartErrc::kBadContentDisposition)
      << "unterminated quote";
  EXPECT_EQ(ErrcOf(with_headers("Content-Disposition: form-data; name=\"a\"; name=\"b\"\r\n")),
            MultipartErrc::kBadContentDisposition);
  EXPECT_EQ(ErrcOf(with_headers("Content-Disposition: form-data; name=\"a\"\r\nContent-Disposition: form-data; "
                                "name=\"b\"\r\n")),
            MultipartErrc::kBadContentDisposition);
  EXPECT_EQ(ErrcOf(with_headers("Content-Disposition: form-data; name=\"a\"\nX: y\r\n")), MultipartErrc::kMalformedHeaders)
      << "bare LF";
  EXPECT_EQ(ErrcOf(with_headers("Content-Disposition: form-data; name=\"a\"\rX: y\r\n")), MultipartErrc::kMalformedHeaders)
      << "bare CR";
  EXPECT_EQ(ErrcOf(with_headers("Content-Disposition: form-data;\r\n name=\"a\"\r\n")), MultipartErrc::kMalformedHeaders)
      << "folding";
  EXPECT_EQ(ErrcOf(with_headers("Content-Disposition: form-data; name=\"a\"\r\nNo colon here\r\n")),
            MultipartErrc::kMalformedHeaders);
  EXPECT_EQ(ErrcOf(with_headers("Content-Disposition: form-data; name=\"a\"\r\nBad Name: x\r\n")),
            MultipartErrc::kMalformedHeaders);
  EXPECT_EQ(ErrcOf(with_headers("Content-Disposition: form-data; name=\"a\"\r\nContent-Type: a\r\nContent-Type: b\r\n")),
            MultipartErrc::kMalformedHeaders);
}

TEST(MultipartTest, LimitsEachHaveTheirOwnError) {
  MultipartLimits limits;
  limits.max_parts = 2;
  testsupport::MultipartBuilder three("XyZ");
  three.Field("a", "1").Field("b", "2").Field("c", "3");
  auto r = Parse(three.Body(), limits);
  EXPECT_EQ(ErrcOf(r), MultipartErrc::kTooManyParts);
  EXPECT_EQ(HttpStatusOf(r.error().code), 413);
  testsupport::MultipartBuilder two("XyZ");
  two.Field("a", "1").Field("b", "2");
  EXPECT_TRUE(Parse(two.Body(), limits));

  limits = {};
  limits.max_field_bytes = 4;
  limits.max_file_bytes = 6;
  testsupport::MultipartBuilder field("XyZ");
  field.Field("a", "12345");
  r = Parse(field.Body(), limits);
  EXPECT_EQ(ErrcOf(r), MultipartErrc::kFieldTooLarge);
  EXPECT_NE(r.error().message.find("'a'"), std::string::npos) << r.error().message;
  testsupport::MultipartBuilder at_limit("XyZ");
  at_limit.Field("a", "1234").File("f", "f.bin", "application/octet-stream", "123456");
  EXPECT_TRUE(Parse(at_limit.Body(), limits)) << "limits are inclusive";
  testsupport::MultipartBuilder file("XyZ");
  file.File("f", "f.bin", "application/octet-stream", "1234567");
  EXPECT_EQ(ErrcOf(Parse(file.Body(), limits)), MultipartErrc::kFileTooLarge);

  limits = {};
  limits.max_part_header_bytes = 64;
  testsupport::MultipartBuilder long_header("XyZ");
  long_header.File("f", std::string(40, 'n'), "application/octet-stream", "x");
  EXPECT_EQ(ErrcOf(Parse(long_header.Body(), limits)), MultipartErrc::kHeadersTooLarge);

  limits = {};
  limits.max_total_bytes = 20;
  r = Parse(kCurlLike, limits);
  EXPECT_EQ(ErrcOf(r), MultipartErrc::kBodyTooLarge);
  EXPECT_EQ(HttpStatusOf(r.error().code), 413);

  limits = {};
  limits.max_name_bytes = 3;
  limits.max_filename_bytes = 5;
  testsupport::MultipartBuilder long_name("XyZ");
  long_name.Field("abcd", "x");
  r = Parse(long_name.Body(), limits);
  EXPECT_EQ(ErrcOf(r), MultipartErrc::kNameTooLong);
  EXPECT_EQ(HttpStatusOf(r.error().code), 400);
  testsupport::MultipartBuilder long_filename("XyZ");
  long_filename.File("abc", "abcdef", "text/plain", "x");
  EXPECT_EQ(ErrcOf(Parse(long_filename.Body(), limits)), MultipartErrc::kNameTooLong);
}

TEST(MultipartTest, AfterAnErrorFeedKeepsFailingTheSameWay) {
  MultipartParser parser("XyZ");
  ASSERT_FALSE(parser.Feed("--XyZjunk"));
  auto again = parser.Feed("--XyZ--\r\n");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, MultipartErrc::kMalformedDelimiter);
  EXPECT_FALSE(parser.Finish());

  MultipartParser bad_boundary("");
  auto r = bad_boundary.Feed("anything");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, MultipartErrc::kBadBoundary);
}

// The streaming contract: however the body is split, the outcome is identical.
TEST(MultipartTest, ByteByByteAndRandomSplitsEqualOneFeed) {
  MultipartLimits small;
  small.max_field_bytes = 8;
  small.max_total_bytes = 300;
  small.max_parts = 3;
  const std::vector<std::string> bodies = {
      kCurlLike,
      "preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\n\r\n\r\n--XyZ--",
      "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nA\r\n--XyZW\r\n",
      "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n\r\r\n\r\n-\r\n--\r\n--X\r\n--XyZ--",
      "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n123456789\r\n--XyZ--",
      "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n12345678\r\n--XyZ\r\nContent-Disposition: x\r\n\r\n",
      "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--XyZ\r\n"
      "Content-Disposition: form-data; name=\"b\"\r\n\r\n2\r\n--XyZ\r\n"
      "Content-Disposition: form-data; name=\"c\"\r\n\r\n3\r\n--XyZ\r\n"
      "Content-Disposition: form-data; name=\"d\"\r\n\r\n4\r\n--XyZ--",
      std::string(400, 'p'),
      "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n" + std::string(280, 'x'),
  };
  std::mt19937 rng(12345);
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    for (const MultipartLimits& limits : {MultipartLimits{}, small}) {
      const Result whole = Parse(bodies[i], limits);
      ExpectSame(whole, ParseSplit(bodies[i], {1}, limits), "body " + std::to_string(i) + " byte by byte");
      for (int trial = 0; trial < 50; ++trial) {
        std::vector<std::size_t> sizes;
        for (int k = 0; k < 8; ++k) sizes.push_back(1 + rng() % 17);
        ExpectSame(whole, ParseSplit(bodies[i], sizes, limits), "body " + std::to_string(i) + " random split");
      }
    }
  }
}

}  // namespace
}  // namespace http
