// ApiError: why a call to the API server failed, as a value. It carries the HTTP status and the
// Kubernetes Status object's reason and message, plus which verb on which resource failed, so the
// text a caller logs says what was refused (an RBAC denial names the verb and the resource).
//
// RetryDelay is the client's retry rule as a pure function (tested without a server):
//   - 429 Too Many Requests: retried for every verb (the server did not process the request),
//     after Retry-After when given, else the back-off.
//   - 5xx and transport failures (no HTTP answer): retried only for idempotent verbs (get, list,
//     update, delete, patch, apply; not create), with exponential back-off, or after Retry-After.
//   - Everything else (4xx, watch-level errors) is returned at once.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "common/expected.h"

namespace kube {

struct ApiError {
  int http_status = 0;  // 0: no HTTP answer (connection failed, timed out) or refused client-side
  std::string reason;   // Status.reason: NotFound, AlreadyExists, Conflict, Forbidden, Expired, ...
  std::string message;  // Status.message, or what went wrong client-side
  std::string verb;     // get, list, create, update, delete, patch, apply, watch
  std::string target;   // what the verb was on: `configmaps "x" in namespace "ns"`
  std::optional<std::chrono::seconds> retry_after;  // from the Retry-After header

  bool NotFound() const { return http_status == 404; }
  bool AlreadyExists() const { return http_status == 409 && reason == "AlreadyExists"; }
  // A write conflict: stale resourceVersion on update, or a server-side-apply field conflict.
  bool Conflict() const { return http_status == 409 && reason != "AlreadyExists"; }
  bool Forbidden() const { return http_status == 403; }
  // The resourceVersion is too old (compacted): a watcher must relist.
  bool Gone() const { return http_status == 410 || reason == "Expired" || reason == "Gone"; }
  bool TooManyRequests() const { return http_status == 429; }
  // No HTTP answer: the connection failed, broke or timed out.
  bool TransportFailure() const { return http_status == 0 && reason.empty(); }

  // One line for logs and test failures, e.g.
  // `forbidden: RBAC refused to let this client get configmaps "x" in namespace "ns": <message>`.
  std::string Describe() const;
};

template <class T>
using Result = common::Expected<T, ApiError>;

// Builds the error for a non-2xx answer. `body` is parsed as a metav1.Status when it is one; any
// other body becomes the message (cut to a readable length).
ApiError ErrorFromResponse(int http_status, std::string_view body, std::string_view retry_after_header,
                           std::string verb, std::string target);

// An error raised before or instead of an HTTP exchange: bad input (`reason` "Invalid") or a
// transport failure (`reason` empty).
ApiError ClientError(std::string reason, std::string message, std::string verb, std::string target);

struct RetryPolicy {
  int max_attempts = 5;  // including the first
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{5'000};
  std::chrono::seconds max_retry_after{30};  // a longer Retry-After is not waited for: the error is returned
};

bool IsIdempotent(std::string_view verb);

// How long to wait before attempt number `attempt + 1` (attempt counts from 1), or nullopt when
// the error is final.
std::optional<std::chrono::milliseconds> RetryDelay(const RetryPolicy& policy, const ApiError& error, int attempt);

}  // namespace kube
