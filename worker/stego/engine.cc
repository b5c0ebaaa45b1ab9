#include "worker/stego/engine.h"

#include <libdeflate.h>

#include <optional>
#include <string>

#include "worker/stego/container.h"
#include "worker/stego/crypto.h"
#include "worker/stego/keyed_order.h"
#include "worker/stego/lsb.h"

namespace stego {
namespace {

bool WellFormed(const Image& image) {
  return image.width > 0 && image.height > 0 && (image.channels == 1 || image.channels == 3 || image.channels == 4) &&
         image.pixels.size() == image.pixel_count() * static_cast<size_t>(image.channels);
}

uint32_t Crc32(std::span<const uint8_t> bytes) { return libdeflate_crc32(0, bytes.data(), bytes.size()); }

// The header fields known before encryption. A password brings encryption and the keyed order.
Header HeaderFor(const PackedPayload& packed) {
  Header header;
  header.lsb_bits = packed.options.lsb_bits;
  header.flags = packed.compressed ? kCompressed : 0;
  if (packed.encrypted()) header.flags |= kEncrypted | kKeyedOrder;
  header.raw_size = packed.raw_size;
  header.stored_size = static_cast<uint32_t>(packed.stored_bytes());
  return header;
}

// An encrypted body and the groups it goes to, in the keyed order.
struct SealedBody {
  std::vector<uint8_t> bytes;
  std::vector<uint32_t> order;
};

// Fills the header's crypto fields, encrypts the packed body and computes its keyed order.
Result<SealedBody> SealBody(const PackedPayload& packed, const Regions& regions, Header& header) {
  header.scrypt_log2n = static_cast<uint8_t>(packed.options.scrypt_log2n);
  if (Result<void> ok = RandomBytes(header.salt); !ok) return common::Unexpected{ok.error()};
  if (Result<void> ok = RandomBytes(header.nonce); !ok) return common::Unexpected{ok.error()};
  Result<DerivedKeys> keys = DeriveKeys(packed.options.password, header.salt, header.scrypt_log2n);
  if (!keys) return common::Unexpected{keys.error()};
  header.key_check = keys->check;
  Result<std::vector<uint8_t>> sealed = Seal(*keys, header.nonce, AssociatedData(header), packed.body);
  if (!sealed) return common::Unexpected{sealed.error()};
  std::vector<uint32_t> order = KeyedOrder(keys->order_seed, regions.body_first, regions.body_groups,
                                           GroupsFor(sealed->size(), header.lsb_bits));
  return SealedBody{std::move(*sealed), std::move(order)};
}

// The preamble, then the header at the depth the preamble names.
Result<Header> ReadHeader(const Image& image) {
  const size_t groups = GroupCount(ImageDims::Of(image));
  if (groups < kPreambleGroups) return Fail(ErrorCode::kNoPayload, "image is too small to carry a payload");
  std::array<uint8_t, kPreambleBytes> preamble;
  ReadGroups(image, 1, 0, preamble);
  Result<int> depth = DecodePreamble(preamble);
  if (!depth) return common::Unexpected{depth.error()};
  std::vector<uint8_t> bytes(HeaderBytes(false));
  for (;;) {  // at most twice: the flags byte says whether the longer, encrypted header follows
    if (kPreambleGroups + GroupsFor(bytes.size(), *depth) > groups) {
      return Fail(ErrorCode::kTruncatedPayload, "image is too small for the payload header (cropped?)");
    }
    ReadGroups(image, *depth, kPreambleGroups, bytes);
    const size_t size = HeaderBytes(HeaderSaysEncrypted(bytes));
    if (size == bytes.size()) return DecodeHeader(*depth, bytes);
    bytes.resize(size);
  }
}

Result<void> CheckBodyFits(const Header& header, const Regions& regions) {
  const size_t available = regions.body_groups * GroupBytes(header.lsb_bits);
  if (header.stored_size <= available) return {};
  Error error{ErrorCode::kTruncatedPayload,
              "payload header promises " + std::to_string(header.stored_size) + " bytes but the image holds " +
                  std::to_string(available) + " (cropped or resized?)",
              header.stored_size, available};
  return common::Unexpected{std::move(error)};
}

Result<DerivedKeys> UnlockKeys(const Header& header, std::string_view password) {
  if (password.empty()) return Fail(ErrorCode::kPasswordRequired, "the payload is encrypted: a password is required");
  Result<DerivedKeys> keys = DeriveKeys(password, header.salt, header.scrypt_log2n);
  if (keys && keys->check != header.key_check) return Fail(ErrorCode::kWrongPassword, "wrong password");
  return keys;
}

// The stored body, from the groups the header's flags name; `keys` is set for a keyed order.
std::vector<uint8_t> ReadBody(const Image& image, const Header& header, const Regions& regions,
                              const std::optional<DerivedKeys>& keys) {
  std::vector<uint8_t> body(header.stored_size);
  if (header.has(kKeyedOrder)) {
    const std::vector<uint32_t> order = KeyedOrder(keys->order_seed, regions.body_first, regions.body_groups,
                                                   GroupsFor(body.size(), header.lsb_bits));
    ReadGroups(image, header.lsb_bits, order, body);
  } else {
    ReadGroups(image, header.lsb_bits, regions.body_first, body);
  }
  return body;
}

Result<Extracted> ExtractFrom(const Image& image, std::string_view password, size_t max_output_bytes) {
  Result<Header> header = ReadHeader(image);
  if (!header) return common::Unexpected{header.error()};
  if (Result<void> ok = CheckOutputLimit(header->raw_size, max_output_bytes); !ok) {
    return common::Unexpected{ok.error()};
  }
  const bool encrypted = header->has(kEncrypted);
  const Regions regions = LayoutRegions(ImageDims::Of(image), header->lsb_bits, encrypted);
  if (Result<void> fits = CheckBodyFits(*header, regions); !fits) return common::Unexpected{fits.error()};

  std::optional<DerivedKeys> keys;
  if (encrypted) {
    Result<DerivedKeys> unlocked = UnlockKeys(*header, password);
    if (!unlocked) return common::Unexpected{unlocked.error()};
    keys = *unlocked;
  }
  std::vector<uint8_t> body = ReadBody(image, *header, regions, keys);
  if (Crc32(body) != header->body_crc) {
    return Fail(ErrorCode::kCrcMismatch, "payload checksum mismatch: the image was altered");
  }
  if (encrypted) {
    Result<std::vector<uint8_t>> opened = Open(*keys, header->nonce, AssociatedData(*header), body);
    if (!opened) return common::Unexpected{opened.error()};
    body = std::move(*opened);
  }
  Result<Unpacked> unpacked = Unpack(body, header->has(kCompressed), header->raw_size, max_output_bytes);
  if (!unpacked) return common::Unexpected{unpacked.error()};
  return Extracted{std::move(unpacked->data), std::move(unpacked->filename), std::move(unpacked->mime),
                   header->lsb_bits, header->has(kCompressed), encrypted, header->has(kKeyedOrder)};
}

// A gray image written as WebP comes back as BGR with B = G = R (see codec.h): the gray image again.
std::optional<Image> GrayFromReplicatedBgr(const Image& image) {
  if (image.channels != 3) return std::nullopt;
  Image gray = Image::Blank(image.width, image.height, 1);
  for (size_t i = 0; i < gray.pixels.size(); ++i) {
    const uint8_t* bgr = image.pixels.data() + 3 * i;
    if (bgr[0] != bgr[1] || bgr[1] != bgr[2]) return std::nullopt;
    gray.pixels[i] = bgr[0];
  }
  return gray;
}

}  // namespace

Result<EmbedReport> Embed(Image& cover, const PackedPayload& packed) {
  if (!WellFormed(cover)) return Fail(ErrorCode::kInvalidArgument, "not a well-formed 1, 3 or 4-channel cover");
  const ImageDims dims = ImageDims::Of(cover);
  if (Result<void> fits = CheckCapacity(packed, dims); !fits) return common::Unexpected{fits.error()};

  const int depth = packed.options.lsb_bits;
  const bool encrypted = packed.encrypted();
  const Regions regions = LayoutRegions(dims, depth, encrypted);
  Header header = HeaderFor(packed);
  SealedBody sealed;
  if (encrypted) {
    Result<SealedBody> result = SealBody(packed, regions, header);
    if (!result) return common::Unexpected{result.error()};
    sealed = std::move(*result);
  }
  const std::span<const uint8_t> stored = encrypted ? std::span<const uint8_t>(sealed.bytes) : packed.body;
  header.body_crc = Crc32(stored);

  WriteGroups(cover, 1, 0, EncodePreamble(depth));
  WriteGroups(cover, depth, regions.header_first, EncodeHeader(header));
  if (header.has(kKeyedOrder)) {
    WriteGroups(cover, depth, sealed.order, stored);
  } else {
    WriteGroups(cover, depth, regions.body_first, stored);
  }

  EmbedReport report;
  report.lsb_bits = depth;
  report.data_bytes = packed.data_bytes;
  report.stored_bytes = stored.size();
  report.container_bytes = kPreambleBytes + HeaderBytes(encrypted) + stored.size();
  const CapacityQuery query{dims, depth, encrypted, packed.options.filename.size(), packed.options.mime.size()};
  report.capacity_bytes = *MaxDataBytes(query);
  report.compressed = packed.compressed;
  report.encrypted = encrypted;
  report.keyed_order = header.has(kKeyedOrder);
  return report;
}

Result<Extracted> Extract(const Image& image, std::string_view password, size_t max_output_bytes) {
  if (!WellFormed(image)) return Fail(ErrorCode::kInvalidArgument, "not a well-formed 1, 3 or 4-channel image");
  Result<Extracted> extracted = ExtractFrom(image, password, max_output_bytes);
  const bool no_container = !extracted && (extracted.error().code == ErrorCode::kNoPayload ||
                                           extracted.error().code == ErrorCode::kBadMagic);
  if (no_container) {
    if (std::optional<Image> gray = GrayFromReplicatedBgr(image)) return ExtractFrom(*gray, password, max_output_bytes);
  }
  return extracted;
}

}  // namespace stego
