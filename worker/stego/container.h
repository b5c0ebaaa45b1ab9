// The payload container: the bytes Embed writes into a cover's low bits and Extract reads back.
//
// Layout, placed in groups of 24 colour slots (lsb.h); integers are little-endian:
//
//   preamble  groups 0-1, always at 1 bit per slot, front to back        6 bytes
//               magic "SGCL" (4) | version (1) | lsb_bits (1)
//   header    from group 2, at lsb_bits, front to back                    17 or 50 bytes
//               flags (1) | raw_size (4) | stored_size (4) | body_crc32 (4)
//               [encrypted: scrypt_log2n (1) | salt (16) | nonce (12) | key_check (4)]
//               header_crc32 (4): CRC-32 of the preamble and the header bytes before it
//   body      at lsb_bits, in the groups after the header: front to back, or with the keyed-order
//             flag in the order of keyed_order.h                          stored_size bytes
//               seal(deflate(record)), where deflate applies only when it shrinks the record and seal
//               (AES-256-GCM, tag appended) only with a password
//               record = name_len (1) | name | mime_len (1) | mime | data
//
// Why this shape:
// - The preamble sits at a fixed depth so Extract learns the depth before anything else.
// - The header stays front to back so Extract can read the flags (and the salt for the keyed order)
//   before it needs a key.
// - Every header field is covered by header_crc32 before Extract acts on it (a flipped bit must not
//   demand a huge scrypt cost or a huge allocation); body_crc32 covers the stored body, so
//   corruption (kCrcMismatch) is told apart from a wrong password (key_check, then the GCM tag).
// - Name and MIME type live inside the record, so a password hides them too, and raw_size lets
//   Extract refuse an inflate beyond the caller's output limit before running it.
// - Magic rule: all 4 magic bytes present is a container; 2 or 3 is a damaged one (kBadMagic); 0 or
//   1 is no container (kNoPayload). Random low bits match 2 or more bytes with probability ~1e-4.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "worker/stego/crypto.h"
#include "worker/stego/error.h"
#include "worker/stego/image.h"

namespace stego {

inline constexpr std::array<uint8_t, 4> kMagic = {'S', 'G', 'C', 'L'};
inline constexpr uint8_t kFormatVersion = 1;
inline constexpr size_t kPreambleBytes = 6;
inline constexpr size_t kPreambleGroups = 2;  // 6 bytes at 1 bit per slot
inline constexpr size_t kMaxNameBytes = 255;  // filename and MIME type each
// The largest stored body: stored_size must fit its field, and OpenSSL counts in int.
inline constexpr size_t kMaxStoredBytes = 0x7FFFFFFF;

enum ContainerFlag : uint8_t {
  kCompressed = 1 << 0,
  kEncrypted = 1 << 1,
  kKeyedOrder = 1 << 2,
};

struct Header {
  int lsb_bits = 1;
  uint8_t flags = 0;
  uint32_t raw_size = 0;     // record bytes before deflate
  uint32_t stored_size = 0;  // body bytes as written
  uint32_t body_crc = 0;
  // Present when encrypted:
  uint8_t scrypt_log2n = 0;
  std::array<uint8_t, kSaltBytes> salt{};
  std::array<uint8_t, kNonceBytes> nonce{};
  std::array<uint8_t, kKeyCheckBytes> key_check{};

  bool has(ContainerFlag flag) const { return (flags & flag) != 0; }
};

size_t HeaderBytes(bool encrypted);

// Where the regions fall in an image of the given geometry. body_groups counts every group after the
// header: the most the body may use.
struct Regions {
  size_t header_first = kPreambleGroups;
  size_t header_groups = 0;
  size_t body_first = 0;
  size_t body_groups = 0;
};
Regions LayoutRegions(const ImageDims& dims, int lsb_bits, bool encrypted);

// The most stored-body bytes the image holds (0 if not even the header fits).
size_t BodyCapacity(const ImageDims& dims, int lsb_bits, bool encrypted);

std::array<uint8_t, kPreambleBytes> EncodePreamble(int lsb_bits);
std::vector<uint8_t> EncodeHeader(const Header& header);  // header_crc32 included

// kNoPayload, kBadMagic, kUnsupportedVersion; else the lsb depth.
Result<int> DecodePreamble(std::span<const uint8_t, kPreambleBytes> preamble);
// Reads the flags byte: how long the header is.
bool HeaderSaysEncrypted(std::span<const uint8_t> header_start);
// kCrcMismatch for a damaged header, kUnsupportedVersion for unknown flags or an unknown scrypt cost.
Result<Header> DecodeHeader(int lsb_bits, std::span<const uint8_t> header);

// What AES-GCM authenticates besides the body: preamble, flags and sizes.
std::vector<uint8_t> AssociatedData(const Header& header);

}  // namespace stego
