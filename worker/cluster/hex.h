// Lowercase hex, SHA-256 digests and HMACs in hex: the ids and hashes the replicated state stores
// (cover ids, API key hashes, request keys), so that every member spells them alike; and the
// random bytes they are drawn from.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace cluster {

std::string Hex(std::string_view bytes);
std::string Sha256Hex(std::string_view bytes);
// HMAC-SHA256 of `data` under `key`, raw (32 bytes).
std::string HmacSha256(std::string_view key, std::string_view data);
// `n` bytes from OpenSSL's CSPRNG; throws std::runtime_error if it fails.
std::string RandomBytes(std::size_t n);
// Whether `text` is exactly `length` lowercase hex digits.
bool IsLowerHex(std::string_view text, std::size_t length);

}  // namespace cluster
