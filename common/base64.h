// Base64 (RFC 4648), one implementation for every component: the API's *_b64 answer fields, API key
// secrets, Kubernetes Secret data and kubeconfig *-data fields.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace common {

// Appends the standard, padded encoding (§4) of `bytes` to `out`. Appending, not returning: a large
// answer's base64 field is written straight into the body it ends, without a copy of several MB.
void AppendBase64(std::string& out, std::span<const uint8_t> bytes);

// The URL-safe alphabet without padding (§5): travels unquoted in headers, URLs and shells.
std::string Base64UrlEncode(std::span<const uint8_t> bytes);
inline std::string Base64UrlEncode(std::string_view bytes) {
  return Base64UrlEncode({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
}

// The bytes of standard, padded base64, or nullopt when `text` is not exactly that (a length that is
// not a multiple of 4, a character outside the alphabet, misplaced padding). Whitespace is not
// skipped: callers whose formats allow line breaks remove them first.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace common
