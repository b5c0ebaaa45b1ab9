#include "operator/kube/api_error.h"

#include <algorithm>
#include <charconv>

#include <nlohmann/json.hpp>

namespace kube {

std::string ApiError::Describe() const {
  const std::string what = verb + (target.empty() ? "" : " " + target);
  if (http_status == 0) {
    return (reason.empty() ? "transport error" : reason) + ": " + what + ": " + message;
  }
  std::string out;
  if (Forbidden()) {
    out = "forbidden: RBAC refused to let this client " + what;
  } else {
    out = what + " failed with HTTP " + std::to_string(http_status) + (reason.empty() ? "" : " " + reason);
  }
  if (!message.empty()) out += ": " + message;
  if (retry_after) out += " (retry after " + std::to_string(retry_after->count()) + " s)";
  return out;
}

namespace {

// A string member of a Status, or "" when it is missing or not a string. json::value() would throw
// type_error for a member of another type, and a malformed answer must still become an error.
std::string StringMember(const nlohmann::json& status, const char* key) {
  const auto it = status.find(key);
  return it != status.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

ApiError ErrorFromResponse(int http_status, std::string_view body, std::string_view retry_after_header,
                           std::string verb, std::string target) {
  ApiError error;
  error.http_status = http_status;
  error.verb = std::move(verb);
  error.target = std::move(target);
  const auto status = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (status.is_object() && StringMember(status, "kind") == "Status") {
    error.reason = StringMember(status, "reason");
    error.message = StringMember(status, "message");
  } else {
    constexpr std::size_t kMaxBody = 300;
    error.message = std::string(body.substr(0, kMaxBody));
    if (body.size() > kMaxBody) error.message += "...";
  }
  // The API server sends Retry-After as whole seconds (it never uses the HTTP-date form).
  long seconds = 0;
  const auto* end = retry_after_header.data() + retry_after_header.size();
  if (!retry_after_header.empty() && std::from_chars(retry_after_header.data(), end, seconds).ptr == end && seconds >= 0) {
    error.retry_after = std::chrono::seconds(seconds);
  }
  return error;
}

ApiError ClientError(std::string reason, std::string message, std::string verb, std::string target) {
  ApiError error;
  error.reason = std::move(reason);
  error.message = std::move(message);
  error.verb = std::move(verb);
  error.target = std::move(target);
  return error;
}

bool IsIdempotent(std::string_view verb) { return verb != "create"; }

std::optional<std::chrono::milliseconds> RetryDelay(const RetryPolicy& policy, const ApiError& error, int attempt) {
  if (attempt >= policy.max_attempts) return std::nullopt;
  const bool retryable = error.TooManyRequests() ||
                         ((error.http_status >= 500 || error.TransportFailure()) && IsIdempotent(error.verb));
  if (!retryable) return std::nullopt;
  if (error.retry_after) {
    if (*error.retry_after > policy.max_retry_after) return std::nullopt;
    return std::chrono::milliseconds(*error.retry_after);
  }
  auto delay = policy.initial_backoff;
  for (int i = 1; i < attempt && delay < policy.max_backoff; ++i) delay *= 2;
  return std::min(delay, policy.max_backoff);
}

}  // namespace kube
