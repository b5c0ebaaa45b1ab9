// The bit-level embed and extract: a packed payload into a decoded cover's low bits, and back.
// Callers include engine.h; the pipeline (pipeline.h) sequences these with the checks before them.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "worker/stego/error.h"
#include "worker/stego/image.h"
#include "worker/stego/payload.h"

namespace stego {

struct EmbedReport {
  int lsb_bits = 1;
  size_t data_bytes = 0;       // the caller's payload
  size_t stored_bytes = 0;     // the body as written: deflated if smaller, plus the GCM tag
  size_t container_bytes = 0;  // preamble + header + body
  size_t capacity_bytes = 0;   // the most data bytes this cover holds with these options, uncompressed
  bool compressed = false;
  bool encrypted = false;
  bool keyed_order = false;
};

// Writes the packed payload into the cover's low bits (alpha untouched). With a password: derives
// the keys (scrypt, the slow step), encrypts, and scatters the body in the keyed order.
// Errors: kInvalidArgument for a malformed cover, kCapacityExceeded, kInternal (OpenSSL).
Result<EmbedReport> Embed(Image& cover, const PackedPayload& packed);

// A stego image as the rows an embed changed over an unchanged cover: rows below top.height are the
// cover's own.
struct StegoRows {
  Image top;
  EmbedReport report;
};

// Embed without copying the cover: `top` is a copy of only the rows the payload reaches (every row
// with a password, whose keyed order scatters the payload), written as Embed would. Same errors.
Result<StegoRows> EmbedRows(const Image& cover, const PackedPayload& packed);

struct Extracted {
  std::vector<uint8_t> data;
  std::string filename;
  std::string mime;
  int lsb_bits = 1;
  bool compressed = false;
  bool encrypted = false;
  bool keyed_order = false;
};

// Reads a payload back. `password` is ignored for unencrypted payloads; `max_output_bytes` bounds the
// recovered data, checked before inflating. Errors, each its own code: kNoPayload, kBadMagic,
// kUnsupportedVersion, kTruncatedPayload, kCrcMismatch, kPasswordRequired, kWrongPassword,
// kCorruptPayload, kOutputTooLarge. A gray stego image saved as WebP decodes as BGR with B = G = R;
// Extract recognises that and reads it as gray.
Result<Extracted> Extract(const Image& image, std::string_view password, size_t max_output_bytes);

}  // namespace stego
