// Lowercase hex and SHA-256 digests in hex: the ids and hashes the replicated state stores
// (cover ids, API key hashes), so that every member spells them alike.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace cluster {

std::string Hex(std::string_view bytes);
std::string Sha256Hex(std::string_view bytes);
// Whether `text` is exactly `length` lowercase hex digits.
bool IsLowerHex(std::string_view text, std::size_t length);

}  // namespace cluster
