#include "common/base64.h"

#include <openssl/evp.h>

#include <algorithm>
#include <climits>

namespace common {

void AppendBase64(std::string& out, std::span<const uint8_t> bytes) {
  // EVP_EncodeBlock takes an int length; every caller's bytes are bounded far below (upload limits).
  const size_t at = out.size();
  out.resize(at + 4 * ((bytes.size() + 2) / 3));
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data() + at), bytes.data(),
                                static_cast<int>(bytes.size()));
  out.resize(at + static_cast<size_t>(n));
}

std::string Base64UrlEncode(std::span<const uint8_t> bytes) {
  std::string out;
  AppendBase64(out, bytes);
  while (!out.empty() && out.back() == '=') out.pop_back();
  std::replace(out.begin(), out.end(), '+', '-');
  std::replace(out.begin(), out.end(), '/', '_');
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0 || text.size() > static_cast<size_t>(INT_MAX)) return std::nullopt;
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts the padding as zero bytes.
  size_t padding = 0;
  for (auto it = text.rbegin(); it != text.rend() && *it == '=' && padding < 2; ++it) ++padding;
  out.resize(static_cast<size_t>(n) - padding);
  return out;
}

}  // namespace common
