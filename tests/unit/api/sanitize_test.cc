// What the API echoes of a client's strings (worker/api/sanitize.h): file names, MIME types and
// text payloads, each against the inputs that would hurt if echoed as given.
#include "worker/api/sanitize.h"

#include <gtest/gtest.h>

#include <string>

namespace api {
namespace {

// ---- SafeFileName -----------------------------------------------------------------------------

TEST(SafeFileName, KeepsAnOrdinaryName) {
  EXPECT_EQ(SafeFileName("holiday-2026_v2.PNG", "x"), "holiday-2026_v2.PNG");
}

TEST(SafeFileName, KeepsOnlyTheLastPathComponent) {
  EXPECT_EQ(SafeFileName("../../etc/passwd", "x"), "passwd");
  EXPECT_EQ(SafeFileName("C:\\Users\\me\\secret.txt", "x"), "secret.txt");
  EXPECT_EQ(SafeFileName("a/b\\c", "x"), "c");
  EXPECT_EQ(SafeFileName("dir/", "fallback"), "fallback") << "nothing after the last slash";
}

TEST(SafeFileName, DropsLeadingDots) {
  EXPECT_EQ(SafeFileName(".bashrc", "x"), "bashrc");
  EXPECT_EQ(SafeFileName("...hidden.txt", "x"), "hidden.txt");
  EXPECT_EQ(SafeFileName("..", "fallback"), "fallback");
  EXPECT_EQ(SafeFileName("a.b.", "x"), "a.b.") << "only leading dots go";
}

TEST(SafeFileName, ReplacesEverythingElseWithUnderscores) {
  EXPECT_EQ(SafeFileName("my file\";\r\n.txt", "x"), "my_file____.txt") << "no header injection, no quote";
  EXPECT_EQ(SafeFileName("r\xc3\xa9sum\xc3\xa9.pdf", "x"), "r__sum__.pdf") << "each byte of UTF-8 alike";
  EXPECT_EQ(SafeFileName(std::string("a\0b", 3), "x"), "a_b");
}

TEST(SafeFileName, CapsAt100Characters) {
  EXPECT_EQ(SafeFileName(std::string(100, 'a'), "x"), std::string(100, 'a'));
  EXPECT_EQ(SafeFileName(std::string(150, 'a'), "x"), std::string(100, 'a'));
  // The cap applies to the name as given, before leading dots go.
  EXPECT_EQ(SafeFileName(std::string(3, '.') + std::string(150, 'b'), "x"), std::string(97, 'b'));
}

TEST(SafeFileName, FallsBackWhenNothingIsLeft) {
  EXPECT_EQ(SafeFileName("", "payload.bin"), "payload.bin");
  EXPECT_EQ(SafeFileName("...", "payload.bin"), "payload.bin");
  EXPECT_EQ(SafeFileName("", ""), "") << "an empty fallback stays empty: a payload without a name";
  EXPECT_EQ(SafeFileName("\xff", "x"), "_") << "a replaced character is something left";
}

// ---- SafeMime ---------------------------------------------------------------------------------

constexpr std::string_view kBinary = "application/octet-stream";

TEST(SafeMime, KeepsATypeWithParameters) {
  EXPECT_EQ(SafeMime("image/png"), "image/png");
  EXPECT_EQ(SafeMime("text/plain; charset=utf-8"), "text/plain; charset=utf-8");
}

TEST(SafeMime, RefusesWhatIsNotTypeSlashSubtype) {
  EXPECT_EQ(SafeMime(""), kBinary);
  EXPECT_EQ(SafeMime("png"), kBinary);
  EXPECT_EQ(SafeMime("text"), kBinary);
}

TEST(SafeMime, RefusesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(SafeMime("text/plain; charset=\"utf-8\""), kBinary);
  EXPECT_EQ(SafeMime("text/pl\\ain"), kBinary);
  EXPECT_EQ(SafeMime("text/html\r\nSet-Cookie: a=b"), kBinary) << "no header injection";
  EXPECT_EQ(SafeMime("text/plain\t"), kBinary);
  EXPECT_EQ(SafeMime("text/plain\x7f"), kBinary);
  EXPECT_EQ(SafeMime("text/pl\xc3\xa4in"), kBinary) << "visible ASCII only";
  EXPECT_EQ(SafeMime(std::string("text/plain\0", 11)), kBinary);
}

TEST(SafeMime, RefusesOver127Characters) {
  const std::string at_limit = "application/" + std::string(127 - 12, 'x');
  ASSERT_EQ(at_limit.size(), 127u);
  EXPECT_EQ(SafeMime(at_limit), at_limit);
  EXPECT_EQ(SafeMime(at_limit + "x"), kBinary);
}

// ---- IsUtf8 -----------------------------------------------------------------------------------

TEST(IsUtf8, AcceptsEachSequenceLengthAtItsBounds) {
  EXPECT_TRUE(IsUtf8(""));
  EXPECT_TRUE(IsUtf8("plain ASCII\n\t"));
  EXPECT_TRUE(IsUtf8(std::string("\0", 1))) << "NUL is a character";
  EXPECT_TRUE(IsUtf8("\x7f"));
  EXPECT_TRUE(IsUtf8("\xc2\x80"));          // U+0080, the first two-byte
  EXPECT_TRUE(IsUtf8("\xdf\xbf"));          // U+07FF
  EXPECT_TRUE(IsUtf8("\xe0\xa0\x80"));      // U+0800, the first three-byte
  EXPECT_TRUE(IsUtf8("\xed\x9f\xbf"));      // U+D7FF, just below the surrogates
  EXPECT_TRUE(IsUtf8("\xee\x80\x80"));      // U+E000, just above them
  EXPECT_TRUE(IsUtf8("\xef\xbf\xbf"));      // U+FFFF
  EXPECT_TRUE(IsUtf8("\xf0\x90\x80\x80"));  // U+10000, the first four-byte
  EXPECT_TRUE(IsUtf8("\xf4\x8f\xbf\xbf"));  // U+10FFFF, the last code point
  EXPECT_TRUE(IsUtf8("gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x98\x80"));
}

TEST(IsUtf8, RefusesOverlongEncodings) {
  EXPECT_FALSE(IsUtf8("\xc0\x80"));          // NUL in two bytes
  EXPECT_FALSE(IsUtf8("\xc0\xaf"));          // '/' in two bytes: the classic path traversal
  EXPECT_FALSE(IsUtf8("\xc1\xbf"));          // U+007F in two bytes
  EXPECT_FALSE(IsUtf8("\xe0\x80\xaf"));      // '/' in three
  EXPECT_FALSE(IsUtf8("\xe0\x9f\xbf"));      // U+07FF in three
  EXPECT_FALSE(IsUtf8("\xf0\x80\x80\xaf"));  // '/' in four
  EXPECT_FALSE(IsUtf8("\xf0\x8f\xbf\xbf"));  // U+FFFF in four
}

TEST(IsUtf8, RefusesSurrogates) {
  EXPECT_FALSE(IsUtf8("\xed\xa0\x80"));                  // U+D800
  EXPECT_FALSE(IsUtf8("\xed\xbf\xbf"));                  // U+DFFF
  EXPECT_FALSE(IsUtf8("\xed\xa0\xbd\xed\xb8\x80"));      // a CESU-8 pair for U+1F600
}

TEST(IsUtf8, RefusesCodePointsAboveU10FFFF) {
  EXPECT_FALSE(IsUtf8("\xf4\x90\x80\x80"));  // U+110000
  EXPECT_FALSE(IsUtf8("\xf7\xbf\xbf\xbf"));  // U+1FFFFF
  EXPECT_FALSE(IsUtf8("\xf8\x88\x80\x80\x80")) << "no five-byte forms";
  EXPECT_FALSE(IsUtf8("\xfc\x84\x80\x80\x80\x80")) << "no six-byte forms";
  EXPECT_FALSE(IsUtf8("\xfe"));
  EXPECT_FALSE(IsUtf8("\xff"));
}

TEST(IsUtf8, RefusesTruncatedSequences) {
  EXPECT_FALSE(IsUtf8("\xc3"));
  EXPECT_FALSE(IsUtf8("\xe2\x82"));
  EXPECT_FALSE(IsUtf8("\xf0\x9f\x98"));
  EXPECT_FALSE(IsUtf8("ok \xe2\x82"));
  EXPECT_FALSE(IsUtf8("\xe2\x82 ok")) << "a sequence cut short by the next character";
}

TEST(IsUtf8, RefusesStrayContinuationBytes) {
  EXPECT_FALSE(IsUtf8("\x80"));
  EXPECT_FALSE(IsUtf8("\xbf"));
  EXPECT_FALSE(IsUtf8("a\x80z"));
  EXPECT_FALSE(IsUtf8("\xc3\xa9\xa9")) << "one continuation too many";
}

}  // namespace
}  // namespace api
