// Errors of the stego engine. Every failure that crosses the engine's boundary is an Error: a code
// the caller can switch on (the HTTP layer maps codes to statuses) and a message for humans that
// says what failed and by how much.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include "common/error.h"
#include "common/expected.h"

namespace stego {

enum class ErrorCode {
  kInvalidArgument,     // a caller-supplied option is out of range (lsb bits, name/MIME length, ...)
  kCapacityExceeded,    // the payload does not fit the cover; needed/available bytes are filled
  kImageTooLarge,       // the image declares more pixels than the caller allows
  kUnsupportedImage,    // not an image we decode: unknown format, truncated or corrupt file
  kLossyOutput,         // the requested output would not keep every pixel bit (JPEG, alpha loss...)
  kNoPayload,           // the low bits carry no container (the magic is absent)
  kBadMagic,            // a damaged preamble: the magic is partly present (see container.h)
  kUnsupportedVersion,  // a container written by a newer format version, or with unknown flags
  kTruncatedPayload,    // the header claims more bytes than the image holds (e.g. a cropped image)
  kCrcMismatch,         // the header or body checksum does not match: the image was altered
  kPasswordRequired,    // the payload is encrypted and no password was given
  kWrongPassword,       // the password does not open the payload
  kCorruptPayload,      // the checksums match but the contents are malformed (e.g. bad deflate)
  kOutputTooLarge,      // the recovered payload would exceed the caller's output limit
  kInternal,            // a library the engine relies on failed (OpenSSL, the encoders)
};

// The common shape (common/error.h), with sizes where the engine has them.
struct Error : common::Error<ErrorCode> {
  // Filled for kCapacityExceeded and kTruncatedPayload: bytes the payload needs and bytes the image
  // holds, both counted as stored body bytes (see capacity.h).
  size_t needed_bytes = 0;
  size_t available_bytes = 0;
};

template <class T>
using Result = common::Expected<T, Error>;

// A stable snake_case name for the code ("capacity_exceeded"), for APIs and logs.
std::string_view ErrorCodeName(ErrorCode code);

// Shorthand for returning an error: `return Fail(ErrorCode::kNoPayload, "...")`.
inline common::Unexpected<Error> Fail(ErrorCode code, std::string message, size_t needed_bytes = 0,
                                      size_t available_bytes = 0) {
  return common::Unexpected<Error>{Error{{code, std::move(message)}, needed_bytes, available_bytes}};
}

}  // namespace stego
