#include "worker/http/auth.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

namespace http {

std::optional<std::string_view> BearerToken(const Request& request) {
  constexpr std::string_view kBearer = "Bearer ";
  const auto authorization = request.Header("Authorization");
  if (!authorization || !authorization->starts_with(kBearer)) return std::nullopt;
  return authorization->substr(kBearer.size());
}

bool SameSecret(std::string_view given, std::string_view expected) {
  unsigned char a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(given.data()), given.size(), a);
  SHA256(reinterpret_cast<const unsigned char*>(expected.data()), expected.size(), b);
  return CRYPTO_memcmp(a, b, sizeof a) == 0;
}

}  // namespace http
