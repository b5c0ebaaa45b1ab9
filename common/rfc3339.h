// RFC 3339 timestamps in UTC ("2026-12-03T10:00:00Z", or with a fraction of a second), as logs,
// the replicated state and Kubernetes write them.
#pragma once

#include <chrono>
#include <string>

namespace common {

// `t` to the second, or with `fraction_digits` (3: milliseconds, 6: microseconds) after the
// seconds, truncated.
std::string FormatRfc3339(std::chrono::system_clock::time_point t, int fraction_digits = 0);

}  // namespace common
