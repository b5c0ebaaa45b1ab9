// Process-wide logging: spdlog's default logger writing to stderr, as text or as one JSON object per
// line (for log collectors).
#pragma once

#include <string>

namespace common {

// format is "text" or "json"; level is a spdlog level name. Call once, before starting threads.
void ConfigureLogging(const std::string& format, const std::string& level);

}  // namespace common
