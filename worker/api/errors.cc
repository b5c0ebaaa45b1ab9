#include "worker/api/errors.h"

#include <nlohmann/json.hpp>

namespace api {

int HttpStatusOf(stego::ErrorCode code) {
  using stego::ErrorCode;
  switch (code) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kLossyOutput:
      return 400;
    case ErrorCode::kCapacityExceeded:
    case ErrorCode::kImageTooLarge:
      return 413;
    case ErrorCode::kUnsupportedImage:
      return 415;
    case ErrorCode::kNoPayload:
    case ErrorCode::kBadMagic:
    case ErrorCode::kUnsupportedVersion:
    case ErrorCode::kTruncatedPayload:
    case ErrorCode::kCrcMismatch:
    case ErrorCode::kPasswordRequired:
    case ErrorCode::kWrongPassword:
    case ErrorCode::kCorruptPayload:
    case ErrorCode::kOutputTooLarge:
      return 422;
    case ErrorCode::kInternal:
      return 500;
  }
  return 500;
}

namespace {

std::string_view Summary(stego::ErrorCode code) {
  using stego::ErrorCode;
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid parameter";
    case ErrorCode::kLossyOutput: return "output format would destroy the payload";
    case ErrorCode::kCapacityExceeded: return "payload exceeds the cover's capacity";
    case ErrorCode::kImageTooLarge: return "image too large";
    case ErrorCode::kUnsupportedImage: return "unsupported or damaged image";
    case ErrorCode::kNoPayload: return "no hidden payload in this image";
    case ErrorCode::kBadMagic: return "damaged payload header";
    case ErrorCode::kUnsupportedVersion: return "payload written by an unsupported format version";
    case ErrorCode::kTruncatedPayload: return "payload truncated";
    case ErrorCode::kCrcMismatch: return "payload checksum mismatch";
    case ErrorCode::kPasswordRequired: return "password required";
    case ErrorCode::kWrongPassword: return "wrong password";
    case ErrorCode::kCorruptPayload: return "corrupt payload";
    case ErrorCode::kOutputTooLarge: return "recovered payload too large";
    case ErrorCode::kInternal: return "internal error";
  }
  return "error";
}

}  // namespace

http::Response ErrorResponse(const http::Request& request, const stego::Error& error) {
  nlohmann::json extra = nlohmann::json::object();
  if (error.needed_bytes || error.available_bytes) {
    extra["needed_bytes"] = error.needed_bytes;
    extra["available_bytes"] = error.available_bytes;
  }
  return http::Response::Error(request, HttpStatusOf(error.code), stego::ErrorCodeName(error.code),
                               Summary(error.code), error.message, extra);
}

http::Response ErrorResponse(const http::Request& request, const http::MultipartError& error) {
  return http::Response::Error(request, http::HttpStatusOf(error.code), http::MultipartErrcName(error.code),
                               "malformed multipart/form-data body", error.message);
}

http::Response BadParameter(const http::Request& request, std::string_view field, std::string_view detail) {
  return http::Response::Error(request, 400, "invalid_parameter", "invalid parameter '" + std::string(field) + "'",
                               detail, nlohmann::json{{"field", field}});
}

http::Response NotClustered(const http::Request& request) {
  return http::Response::Error(request, 503, "not_clustered", "this worker is not a cluster member",
                               "start it with --peer (and --data-dir, --cluster-secret) to join a cluster");
}

}  // namespace api
