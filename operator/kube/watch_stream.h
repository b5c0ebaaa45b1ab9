// The body of a watch answer, decoded: JSON events, one per line ({"type": "ADDED", "object": {...}}),
// as the API server streams them. Pure (no I/O), so the framing and the decoding are tested and
// fuzzed without a server (tests/fuzz/watch_stream_fuzz.cc); the Transport feeds it the bytes as
// they arrive and the Client hands the events on.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "operator/kube/api_error.h"

namespace kube {

enum class WatchEventType { kAdded, kModified, kDeleted, kBookmark };

struct WatchEvent {
  WatchEventType type;
  nlohmann::json object;  // for a bookmark only metadata.resourceVersion is meaningful
};

// Cuts a byte stream into lines at '\n', however the bytes arrive. Empty lines are skipped; a line
// is held until its '\n' arrives.
class WatchLineSplitter {
 public:
  void Feed(std::string_view bytes, const std::function<void(std::string_view line)>& on_line);
  std::size_t pending_bytes() const { return pending_.size(); }

 private:
  std::string pending_;
};

// Decodes the lines of one watch connection. The first line that is an ERROR event (the server's
// Status, e.g. 410 Expired) or unreadable ends the decoding: error() says why and later lines are
// ignored, as the connection is about to be dropped.
class WatchEventDecoder {
 public:
  // `target` names the watched resources in errors; `resource_version` is where the watch started.
  WatchEventDecoder(std::string target, std::string resource_version)
      : target_(std::move(target)), last_version_(std::move(resource_version)) {}

  // One line: an event goes to `on_event` (and its resourceVersion is remembered), else error().
  void Decode(std::string_view line, const std::function<void(WatchEvent&&)>& on_event);

  const std::optional<ApiError>& error() const { return error_; }
  // The resourceVersion of the last event decoded, or the starting one: where a resumed watch starts.
  const std::string& last_version() const { return last_version_; }

 private:
  std::string target_;
  std::string last_version_;
  std::optional<ApiError> error_;
};

}  // namespace kube
