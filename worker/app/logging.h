// Process-wide logging: spdlog's default logger writing to stderr, as text or as one JSON object per
// line (for log collectors). Request ids are part of each message, written by the HTTP layer.
#pragma once

#include <string>

namespace worker {

// format is "text" or "json"; level is a spdlog level name. Call once, before starting threads.
void ConfigureLogging(const std::string& format, const std::string& level);

}  // namespace worker
