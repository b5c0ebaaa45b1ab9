#include "worker/stego/error.h"

namespace stego {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid_argument";
    case ErrorCode::kCapacityExceeded: return "capacity_exceeded";
    case ErrorCode::kImageTooLarge: return "image_too_large";
    case ErrorCode::kUnsupportedImage: return "unsupported_image";
    case ErrorCode::kLossyOutput: return "lossy_output";
    case ErrorCode::kNoPayload: return "no_payload";
    case ErrorCode::kBadMagic: return "bad_magic";
    case ErrorCode::kUnsupportedVersion: return "unsupported_version";
    case ErrorCode::kTruncatedPayload: return "truncated_payload";
    case ErrorCode::kCrcMismatch: return "crc_mismatch";
    case ErrorCode::kPasswordRequired: return "password_required";
    case ErrorCode::kWrongPassword: return "wrong_password";
    case ErrorCode::kCorruptPayload: return "corrupt_payload";
    case ErrorCode::kOutputTooLarge: return "output_too_large";
    case ErrorCode::kInternal: return "internal";
  }
  return "unknown";
}

}  // namespace stego
