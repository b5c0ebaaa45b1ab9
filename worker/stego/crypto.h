// The password layer: scrypt turns a password into keys, AES-256-GCM seals the payload.
//
// One scrypt derivation yields three things: the AES key, the seed of the keyed pixel order
// (keyed_order.h), and a 4-byte key check stored in the header, so a wrong password is reported as
// such before the body is read in an order that only the right password gives. The check only
// saves time for an attacker who already has to pay one scrypt per guess, which the GCM tag allows too.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "worker/stego/error.h"

namespace stego {

// scrypt cost as log2(N), with r = 8, p = 1: memory 128 * r * N bytes. The default 2^15 takes 32 MiB
// and ~95 ms on the project's 2-core reference machine (docs/benchmarks.md). Readers accept only the
// range below, so a hostile image cannot make extraction take more than 64 MiB and ~0.2 s.
inline constexpr int kDefaultScryptLog2N = 15;
inline constexpr int kMinScryptLog2N = 10;
inline constexpr int kMaxScryptLog2N = 16;

inline constexpr size_t kSaltBytes = 16;
inline constexpr size_t kNonceBytes = 12;
inline constexpr size_t kTagBytes = 16;
inline constexpr size_t kKeyCheckBytes = 4;

struct DerivedKeys {
  std::array<uint8_t, 32> aes_key;
  std::array<uint8_t, 32> order_seed;
  std::array<uint8_t, kKeyCheckBytes> check;
};

// kInvalidArgument for a cost outside [kMinScryptLog2N, kMaxScryptLog2N]; kInternal if OpenSSL fails.
Result<DerivedKeys> DeriveKeys(std::string_view password, std::span<const uint8_t, kSaltBytes> salt, int log2n);

// Fills `out` from OpenSSL's CSPRNG.
Result<void> RandomBytes(std::span<uint8_t> out);

// Returns ciphertext followed by the 16-byte tag; `aad` is authenticated but not encrypted.
Result<std::vector<uint8_t>> Seal(const DerivedKeys& keys, std::span<const uint8_t, kNonceBytes> nonce,
                                  std::span<const uint8_t> aad, std::span<const uint8_t> plaintext);

// The inverse; kWrongPassword when the tag does not verify.
Result<std::vector<uint8_t>> Open(const DerivedKeys& keys, std::span<const uint8_t, kNonceBytes> nonce,
                                  std::span<const uint8_t> aad, std::span<const uint8_t> sealed);

}  // namespace stego
