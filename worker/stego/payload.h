// The payload before it meets a cover: the caller's bytes with their filename and MIME type, packed
// into the container's record and deflated when that makes it smaller (see container.h).
//
// Packing is separate from embedding so the capacity check (capacity.h) can run on the packed size
// before the cover is decoded and before the slow key derivation; encryption happens in Embed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "worker/stego/crypto.h"
#include "worker/stego/error.h"

namespace stego {

struct EmbedOptions {
  int lsb_bits = 1;          // low bits used per colour channel, 1-4
  std::string password;      // empty: no encryption and front-to-back order
  std::string filename;      // optional, at most 255 bytes
  std::string mime;          // optional, at most 255 bytes
  int scrypt_log2n = kDefaultScryptLog2N;
};

struct PackedPayload {
  EmbedOptions options;
  std::vector<uint8_t> body;  // the record, deflated when that was smaller; not yet encrypted
  uint32_t raw_size = 0;      // record bytes before deflate
  size_t data_bytes = 0;      // the caller's payload
  bool compressed = false;

  bool encrypted() const { return !options.password.empty(); }
  // Body bytes as they will be written: with the GCM tag when encrypted.
  size_t stored_bytes() const { return body.size() + (encrypted() ? kTagBytes : 0); }
};

// kInvalidArgument for options out of range; kCapacityExceeded for a payload no cover could hold.
Result<PackedPayload> Pack(std::span<const uint8_t> data, EmbedOptions options);

struct Unpacked {
  std::vector<uint8_t> data;
  std::string filename;
  std::string mime;
};

// kOutputTooLarge when a record of raw_size bytes may hold more than max_data_bytes of data: the
// zip-bomb guard, checked from the header before reading or inflating the body.
Result<void> CheckOutputLimit(uint32_t raw_size, size_t max_data_bytes);

// The inverse of Pack after decryption. kCorruptPayload for a body that does not inflate to exactly
// raw_size bytes or a malformed record; kOutputTooLarge for data over max_data_bytes.
Result<Unpacked> Unpack(std::span<const uint8_t> body, bool compressed, uint32_t raw_size, size_t max_data_bytes);

}  // namespace stego
