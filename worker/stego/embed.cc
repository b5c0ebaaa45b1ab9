#include "worker/stego/embed.h"

#include <libdeflate.h>

#include <algorithm>
#include <optional>
#include <string>

#include "worker/stego/capacity.h"
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
  return Fail(ErrorCode::kTruncatedPayload,
              "payload header promises " + std::to_string(header.stored_size) + " bytes but the image holds " +
                  std::to_string(available) + " (cropped or resized?)",
              header.stored_size, available);
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

// What an embed writes and where, decided before any pixel is touched.
struct EmbedPlan {
  Header header;
  Regions regions;
  SealedBody sealed;                // with a password: the encrypted body and its keyed order
  std::span<const uint8_t> stored;  // the body as written: `sealed.bytes` or the packed body
};

Result<EmbedPlan> PlanEmbed(const ImageDims& dims, const PackedPayload& packed) {
  if (Result<void> fits = CheckCapacity(packed, dims); !fits) return common::Unexpected{fits.error()};
  EmbedPlan plan;
  plan.regions = LayoutRegions(dims, packed.options.lsb_bits, packed.encrypted());
  plan.header = HeaderFor(packed);
  if (packed.encrypted()) {
    Result<SealedBody> sealed = SealBody(packed, plan.regions, plan.header);
    if (!sealed) return common::Unexpected{sealed.error()};
    plan.sealed = std::move(*sealed);
    plan.stored = plan.sealed.bytes;
  } else {
    plan.stored = packed.body;
  }
  plan.header.body_crc = Crc32(plan.stored);
  return plan;
}

void WritePlan(const EmbedPlan& plan, Image& image) {
  const int depth = plan.header.lsb_bits;
  WriteGroups(image, 1, 0, EncodePreamble(depth));
  WriteGroups(image, depth, plan.regions.header_first, EncodeHeader(plan.header));
  if (plan.header.has(kKeyedOrder)) {
    WriteGroups(image, depth, plan.sealed.order, plan.stored);
  } else {
    WriteGroups(image, depth, plan.regions.body_first, plan.stored);
  }
}

// The rows the plan writes into, from the top: the body follows the header front to back, unless
// the keyed order scatters it over the whole image.
int RowsReached(const EmbedPlan& plan, const ImageDims& dims) {
  if (plan.header.has(kKeyedOrder)) return dims.height;
  const size_t groups = plan.regions.body_first + GroupsFor(plan.stored.size(), plan.header.lsb_bits);
  const size_t pixels = (groups * kSlotsPerGroup + static_cast<size_t>(dims.colour_channels) - 1) /
                        static_cast<size_t>(dims.colour_channels);
  const size_t rows = (pixels + static_cast<size_t>(dims.width) - 1) / static_cast<size_t>(dims.width);
  return static_cast<int>(std::min(rows, static_cast<size_t>(dims.height)));
}

EmbedReport ReportOf(const EmbedPlan& plan, const ImageDims& dims, const PackedPayload& packed) {
  const bool encrypted = packed.encrypted();
  EmbedReport report;
  report.lsb_bits = plan.header.lsb_bits;
  report.data_bytes = packed.data_bytes;
  report.stored_bytes = plan.stored.size();
  report.container_bytes = kPreambleBytes + HeaderBytes(encrypted) + plan.stored.size();
  const CapacityQuery query{dims, report.lsb_bits, encrypted, packed.options.filename.size(), packed.options.mime.size()};
  report.capacity_bytes = *MaxDataBytes(query);
  report.compressed = packed.compressed;
  report.encrypted = encrypted;
  report.keyed_order = plan.header.has(kKeyedOrder);
  return report;
}

}  // namespace

Result<EmbedReport> Embed(Image& cover, const PackedPayload& packed) {
  if (!WellFormed(cover)) return Fail(ErrorCode::kInvalidArgument, "not a well-formed 1, 3 or 4-channel cover");
  const ImageDims dims = ImageDims::Of(cover);
  Result<EmbedPlan> plan = PlanEmbed(dims, packed);
  if (!plan) return common::Unexpected{plan.error()};
  WritePlan(*plan, cover);
  return ReportOf(*plan, dims, packed);
}

Result<StegoRows> EmbedRows(const Image& cover, const PackedPayload& packed) {
  if (!WellFormed(cover)) return Fail(ErrorCode::kInvalidArgument, "not a well-formed 1, 3 or 4-channel cover");
  const ImageDims dims = ImageDims::Of(cover);
  Result<EmbedPlan> plan = PlanEmbed(dims, packed);
  if (!plan) return common::Unexpected{plan.error()};
  const int rows = RowsReached(*plan, dims);
  const size_t bytes = static_cast<size_t>(rows) * static_cast<size_t>(cover.width) * static_cast<size_t>(cover.channels);
  StegoRows stego{Image{cover.width, rows, cover.channels, std::vector<uint8_t>(cover.pixels.begin(),
                                                                                 cover.pixels.begin() + static_cast<std::ptrdiff_t>(bytes))},
                  {}};
  WritePlan(*plan, stego.top);
  stego.report = ReportOf(*plan, dims, packed);
  return stego;
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
