#include "worker/stego/container.h"

#include <libdeflate.h>

#include <algorithm>
#include <string>

#include "worker/stego/lsb.h"

namespace stego {
namespace {

constexpr size_t kPlainHeaderBytes = 1 + 4 + 4 + 4 + 4;
constexpr size_t kCryptoHeaderBytes = 1 + kSaltBytes + kNonceBytes + kKeyCheckBytes;
constexpr size_t kAuthenticatedHeaderBytes = 1 + 4 + 4;  // flags and sizes
constexpr uint8_t kKnownFlags = kCompressed | kEncrypted | kKeyedOrder;

void PutU32(std::vector<uint8_t>& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

// Sequential little-endian reads; the caller has checked the length.
class FieldReader {
 public:
  explicit FieldReader(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  uint8_t U8() { return bytes_[at_++]; }
  uint32_t U32() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= uint32_t{U8()} << (8 * i);
    return v;
  }
  template <size_t N>
  void Copy(std::array<uint8_t, N>& out) {
    std::copy_n(bytes_.begin() + static_cast<std::ptrdiff_t>(at_), N, out.begin());
    at_ += N;
  }

 private:
  std::span<const uint8_t> bytes_;
  size_t at_ = 0;
};

uint32_t HeaderCrc(int lsb_bits, std::span<const uint8_t> fields) {
  const std::array<uint8_t, kPreambleBytes> preamble = EncodePreamble(lsb_bits);
  return libdeflate_crc32(libdeflate_crc32(0, preamble.data(), preamble.size()), fields.data(), fields.size());
}

}  // namespace

size_t HeaderBytes(bool encrypted) { return kPlainHeaderBytes + (encrypted ? kCryptoHeaderBytes : 0); }

Regions LayoutRegions(const ImageDims& dims, int lsb_bits, bool encrypted) {
  Regions regions;
  regions.header_groups = GroupsFor(HeaderBytes(encrypted), lsb_bits);
  regions.body_first = regions.header_first + regions.header_groups;
  const size_t total = GroupCount(dims);
  regions.body_groups = total > regions.body_first ? total - regions.body_first : 0;
  return regions;
}

size_t BodyCapacity(const ImageDims& dims, int lsb_bits, bool encrypted) {
  return std::min(LayoutRegions(dims, lsb_bits, encrypted).body_groups * GroupBytes(lsb_bits), kMaxStoredBytes);
}

std::array<uint8_t, kPreambleBytes> EncodePreamble(int lsb_bits) {
  return {kMagic[0], kMagic[1], kMagic[2], kMagic[3], kFormatVersion, static_cast<uint8_t>(lsb_bits)};
}

std::vector<uint8_t> EncodeHeader(const Header& header) {
  std::vector<uint8_t> out;
  out.reserve(HeaderBytes(header.has(kEncrypted)));
  out.push_back(header.flags);
  PutU32(out, header.raw_size);
  PutU32(out, header.stored_size);
  PutU32(out, header.body_crc);
  if (header.has(kEncrypted)) {
    out.push_back(header.scrypt_log2n);
    out.insert(out.end(), header.salt.begin(), header.salt.end());
    out.insert(out.end(), header.nonce.begin(), header.nonce.end());
    out.insert(out.end(), header.key_check.begin(), header.key_check.end());
  }
  PutU32(out, HeaderCrc(header.lsb_bits, out));
  return out;
}

Result<int> DecodePreamble(std::span<const uint8_t, kPreambleBytes> preamble) {
  int matching = 0;
  for (size_t i = 0; i < kMagic.size(); ++i) matching += preamble[i] == kMagic[i] ? 1 : 0;
  if (matching < 2) return Fail(ErrorCode::kNoPayload, "no hidden payload found in this image");
  if (matching < 4) {
    return Fail(ErrorCode::kBadMagic, "damaged payload marker: " + std::to_string(matching) +
                                          " of 4 magic bytes match (image altered?)");
  }
  if (preamble[4] != kFormatVersion) {
    return Fail(ErrorCode::kUnsupportedVersion, "payload format version " + std::to_string(preamble[4]) +
                                                    " is not supported (this build reads version " +
                                                    std::to_string(kFormatVersion) + ")");
  }
  const int lsb_bits = preamble[5];
  if (lsb_bits < 1 || lsb_bits > 4) {
    return Fail(ErrorCode::kBadMagic, "damaged payload marker: LSB depth " + std::to_string(lsb_bits));
  }
  return lsb_bits;
}

bool HeaderSaysEncrypted(std::span<const uint8_t> header_start) {
  return !header_start.empty() && (header_start[0] & kEncrypted) != 0;
}

Result<Header> DecodeHeader(int lsb_bits, std::span<const uint8_t> bytes) {
  const size_t size = HeaderBytes(HeaderSaysEncrypted(bytes));
  if (bytes.size() < size) return Fail(ErrorCode::kTruncatedPayload, "payload header is cut off");
  FieldReader crc_field(bytes.subspan(size - 4, 4));
  if (HeaderCrc(lsb_bits, bytes.first(size - 4)) != crc_field.U32()) {
    return Fail(ErrorCode::kCrcMismatch, "payload header checksum mismatch: the image was altered");
  }
  FieldReader reader(bytes);
  Header header;
  header.lsb_bits = lsb_bits;
  header.flags = reader.U8();
  header.raw_size = reader.U32();
  header.stored_size = reader.U32();
  header.body_crc = reader.U32();
  if ((header.flags & ~kKnownFlags) != 0 || (header.has(kKeyedOrder) && !header.has(kEncrypted))) {
    return Fail(ErrorCode::kUnsupportedVersion, "payload uses unknown flags (" + std::to_string(header.flags) + ")");
  }
  if (header.has(kEncrypted)) {
    header.scrypt_log2n = reader.U8();
    reader.Copy(header.salt);
    reader.Copy(header.nonce);
    reader.Copy(header.key_check);
    if (header.scrypt_log2n < kMinScryptLog2N || header.scrypt_log2n > kMaxScryptLog2N) {
      return Fail(ErrorCode::kUnsupportedVersion,
                  "payload asks for scrypt cost 2^" + std::to_string(header.scrypt_log2n) + ", outside 2^" +
                      std::to_string(kMinScryptLog2N) + "..2^" + std::to_string(kMaxScryptLog2N));
    }
  }
  return header;
}

std::vector<uint8_t> AssociatedData(const Header& header) {
  const std::array<uint8_t, kPreambleBytes> preamble = EncodePreamble(header.lsb_bits);
  std::vector<uint8_t> aad(preamble.begin(), preamble.end());
  const std::vector<uint8_t> fields = EncodeHeader(header);
  aad.insert(aad.end(), fields.begin(), fields.begin() + kAuthenticatedHeaderBytes);
  return aad;
}

}  // namespace stego
