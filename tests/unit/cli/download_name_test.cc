#include "cli/download_name.h"

#include <gtest/gtest.h>

namespace stegoctl {
namespace {

TEST(SafeFileName, TakesTheServersPlainName) {
  EXPECT_EQ(SafeFileName("attachment; filename=\"photo-stego.png\"", "x"), "photo-stego.png");
}

TEST(SafeFileName, NeverLeavesTheCurrentDirectory) {
  EXPECT_EQ(SafeFileName("attachment; filename=\"../../.bashrc\"", "x"), "bashrc");
  EXPECT_EQ(SafeFileName("attachment; filename=\"/etc/passwd\"", "x"), "passwd");
  EXPECT_EQ(SafeFileName("attachment; filename=\"..\\\\win.ini\"", "x"), "win.ini");
  EXPECT_EQ(SafeFileName("attachment; filename=\"..\"", "x"), "x");
  EXPECT_EQ(SafeFileName("attachment; filename=\"dir/\"", "x"), "x");
}

TEST(SafeFileName, ControlCharactersAreReplaced) {
  EXPECT_EQ(SafeFileName(std::string("attachment; filename=\"a\x1b[2Jb\""), "x"), "a_[2Jb");
}

TEST(SafeFileName, NoHeaderOrNoNameIsTheFallback) {
  EXPECT_EQ(SafeFileName("", "stego.png"), "stego.png");
  EXPECT_EQ(SafeFileName("attachment", "stego.png"), "stego.png");
  EXPECT_EQ(SafeFileName("attachment; filename=\"\"", "stego.png"), "stego.png");
}

}  // namespace
}  // namespace stegoctl
