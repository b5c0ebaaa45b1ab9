#include "worker/stego/container.h"

#include <gtest/gtest.h>

#include "worker/stego/lsb.h"

namespace stego {
namespace {

std::array<uint8_t, kPreambleBytes> Preamble(std::array<uint8_t, 4> magic, uint8_t version, uint8_t lsb_bits) {
  return {magic[0], magic[1], magic[2], magic[3], version, lsb_bits};
}

TEST(Preamble, RoundTripsTheDepth) {
  for (int bits = 1; bits <= 4; ++bits) {
    Result<int> decoded = DecodePreamble(EncodePreamble(bits));
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(*decoded, bits);
  }
}

TEST(Preamble, MagicRuleSeparatesDamageFromAbsence) {
  EXPECT_EQ(DecodePreamble(Preamble({'S', 'G', 'C', 'X'}, 1, 1)).error().code, ErrorCode::kBadMagic);  // 3 of 4
  EXPECT_EQ(DecodePreamble(Preamble({'S', 'G', 'x', 'x'}, 1, 1)).error().code, ErrorCode::kBadMagic);  // 2 of 4
  EXPECT_EQ(DecodePreamble(Preamble({'S', 'x', 'x', 'x'}, 1, 1)).error().code, ErrorCode::kNoPayload);  // 1 of 4
  EXPECT_EQ(DecodePreamble(Preamble({0, 0, 0, 0}, 0, 0)).error().code, ErrorCode::kNoPayload);
}

TEST(Preamble, RefusesOtherVersionsAndDepths) {
  EXPECT_EQ(DecodePreamble(Preamble(kMagic, 2, 1)).error().code, ErrorCode::kUnsupportedVersion);
  EXPECT_EQ(DecodePreamble(Preamble(kMagic, 1, 0)).error().code, ErrorCode::kBadMagic);
  EXPECT_EQ(DecodePreamble(Preamble(kMagic, 1, 5)).error().code, ErrorCode::kBadMagic);
}

Header EncryptedHeader() {
  Header h;
  h.lsb_bits = 2;
  h.flags = kCompressed | kEncrypted | kKeyedOrder;
  h.raw_size = 1000;
  h.stored_size = 420;
  h.body_crc = 0xDEADBEEF;
  h.scrypt_log2n = 12;
  h.salt.fill(7);
  h.nonce.fill(9);
  h.key_check = {1, 2, 3, 4};
  return h;
}

TEST(Header, RoundTripsEveryField) {
  const Header h = EncryptedHeader();
  const std::vector<uint8_t> bytes = EncodeHeader(h);
  ASSERT_EQ(bytes.size(), HeaderBytes(true));
  EXPECT_TRUE(HeaderSaysEncrypted(bytes));
  Result<Header> back = DecodeHeader(2, bytes);
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(back->flags, h.flags);
  EXPECT_EQ(back->raw_size, 1000u);
  EXPECT_EQ(back->stored_size, 420u);
  EXPECT_EQ(back->body_crc, 0xDEADBEEFu);
  EXPECT_EQ(back->scrypt_log2n, 12);
  EXPECT_EQ(back->salt, h.salt);
  EXPECT_EQ(back->nonce, h.nonce);
  EXPECT_EQ(back->key_check, h.key_check);
}

TEST(Header, PlainHeaderIsShort) {
  Header h;
  h.flags = kCompressed;
  EXPECT_EQ(EncodeHeader(h).size(), HeaderBytes(false));
  EXPECT_EQ(HeaderBytes(false), 17u);
  EXPECT_EQ(HeaderBytes(true), 50u);
}

TEST(Header, AnyFlippedBitIsACrcMismatch) {
  const std::vector<uint8_t> bytes = EncodeHeader(EncryptedHeader());
  for (size_t bit = 0; bit < bytes.size() * 8; ++bit) {
    std::vector<uint8_t> damaged = bytes;
    damaged[bit / 8] ^= static_cast<uint8_t>(1 << (bit % 8));
    damaged.resize(HeaderBytes(true));  // a flipped encrypted flag would otherwise shorten it
    Result<Header> decoded = DecodeHeader(2, damaged);
    ASSERT_FALSE(decoded.has_value()) << "bit " << bit;
    EXPECT_EQ(decoded.error().code, ErrorCode::kCrcMismatch) << "bit " << bit;
  }
  // The preamble is covered too: the same header read at another depth does not verify.
  EXPECT_EQ(DecodeHeader(3, bytes).error().code, ErrorCode::kCrcMismatch);
}

TEST(Header, RefusesUnknownFlagsAndScryptCosts) {
  Header unknown;
  unknown.flags = 0x08;
  EXPECT_EQ(DecodeHeader(1, EncodeHeader(unknown)).error().code, ErrorCode::kUnsupportedVersion);
  Header keyed_without_key;
  keyed_without_key.flags = kKeyedOrder;
  EXPECT_EQ(DecodeHeader(1, EncodeHeader(keyed_without_key)).error().code, ErrorCode::kUnsupportedVersion);
  Header costly = EncryptedHeader();
  costly.scrypt_log2n = 30;  // 128 GiB of memory if it were honoured
  EXPECT_EQ(DecodeHeader(2, EncodeHeader(costly)).error().code, ErrorCode::kUnsupportedVersion);
}

TEST(Regions, FollowTheLayout) {
  const ImageDims dims{64, 64, 3};  // 12288 slots, 512 groups
  const Regions plain = LayoutRegions(dims, 1, false);
  EXPECT_EQ(plain.header_first, 2u);
  EXPECT_EQ(plain.header_groups, 6u);  // 17 bytes at 3 bytes per group
  EXPECT_EQ(plain.body_first, 8u);
  EXPECT_EQ(plain.body_groups, 504u);
  const Regions sealed = LayoutRegions(dims, 4, true);
  EXPECT_EQ(sealed.header_groups, 5u);  // 50 bytes at 12 bytes per group
  EXPECT_EQ(sealed.body_groups, 505u);
  EXPECT_EQ(BodyCapacity(dims, 4, true), 505u * 12u);
  EXPECT_EQ(BodyCapacity({4, 4, 3}, 1, false), 0u);  // not even the preamble fits
}

}  // namespace
}  // namespace stego
