#include "worker/stego/crypto.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <memory>
#include <string>

namespace stego {
namespace {

constexpr uint64_t kScryptR = 8;
constexpr uint64_t kScryptP = 1;

using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

CipherContext NewContext() { return CipherContext(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free); }

int Len(size_t n) { return static_cast<int>(n); }

}  // namespace

Result<DerivedKeys> DeriveKeys(std::string_view password, std::span<const uint8_t, kSaltBytes> salt, int log2n) {
  if (log2n < kMinScryptLog2N || log2n > kMaxScryptLog2N) {
    return Fail(ErrorCode::kInvalidArgument, "scrypt cost log2(N) = " + std::to_string(log2n) + " is outside " +
                                                 std::to_string(kMinScryptLog2N) + ".." +
                                                 std::to_string(kMaxScryptLog2N));
  }
  const uint64_t n = uint64_t{1} << log2n;
  const uint64_t max_memory = 128 * kScryptR * (n + kScryptP + 2);  // scrypt's V and B arrays, with room
  std::array<uint8_t, 32 + 32 + kKeyCheckBytes> out;
  if (EVP_PBE_scrypt(password.data(), password.size(), salt.data(), salt.size(), n, kScryptR, kScryptP, max_memory,
                     out.data(), out.size()) != 1) {
    return Fail(ErrorCode::kInternal, "scrypt key derivation failed");
  }
  DerivedKeys keys;
  std::copy_n(out.begin(), keys.aes_key.size(), keys.aes_key.begin());
  std::copy_n(out.begin() + 32, keys.order_seed.size(), keys.order_seed.begin());
  std::copy_n(out.begin() + 64, keys.check.size(), keys.check.begin());
  return keys;
}

Result<void> RandomBytes(std::span<uint8_t> out) {
  if (RAND_bytes(out.data(), Len(out.size())) != 1) return Fail(ErrorCode::kInternal, "OpenSSL RAND_bytes failed");
  return {};
}

Result<std::vector<uint8_t>> Seal(const DerivedKeys& keys, std::span<const uint8_t, kNonceBytes> nonce,
                                  std::span<const uint8_t> aad, std::span<const uint8_t> plaintext) {
  CipherContext ctx = NewContext();
  std::vector<uint8_t> sealed(plaintext.size() + kTagBytes);
  int n = 0;
  const bool ok =
      ctx && EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, keys.aes_key.data(), nonce.data()) == 1 &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &n, aad.data(), Len(aad.size())) == 1 &&
      EVP_EncryptUpdate(ctx.get(), sealed.data(), &n, plaintext.data(), Len(plaintext.size())) == 1 &&
      EVP_EncryptFinal_ex(ctx.get(), sealed.data() + n, &n) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, Len(kTagBytes), sealed.data() + plaintext.size()) == 1;
  if (!ok) return Fail(ErrorCode::kInternal, "AES-256-GCM encryption failed");
  return sealed;
}

Result<std::vector<uint8_t>> Open(const DerivedKeys& keys, std::span<const uint8_t, kNonceBytes> nonce,
                                  std::span<const uint8_t> aad, std::span<const uint8_t> sealed) {
  if (sealed.size() < kTagBytes) return Fail(ErrorCode::kCorruptPayload, "encrypted payload shorter than its tag");
  const size_t size = sealed.size() - kTagBytes;
  CipherContext ctx = NewContext();
  std::vector<uint8_t> plain(size);
  std::array<uint8_t, kTagBytes> tag;
  std::copy_n(sealed.begin() + static_cast<std::ptrdiff_t>(size), kTagBytes, tag.begin());
  int n = 0;
  const bool ready =
      ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, keys.aes_key.data(), nonce.data()) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &n, aad.data(), Len(aad.size())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), plain.data(), &n, sealed.data(), Len(size)) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, Len(kTagBytes), tag.data()) == 1;
  if (!ready) return Fail(ErrorCode::kInternal, "AES-256-GCM decryption failed");
  if (EVP_DecryptFinal_ex(ctx.get(), plain.data() + n, &n) != 1) {
    return Fail(ErrorCode::kWrongPassword, "wrong password: the payload does not authenticate");
  }
  return plain;
}

}  // namespace stego
