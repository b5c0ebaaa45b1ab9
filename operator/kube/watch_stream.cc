#include "operator/kube/watch_stream.h"

namespace kube {
namespace {

using Json = nlohmann::json;

std::optional<WatchEventType> ParseEventType(std::string_view type) {
  if (type == "ADDED") return WatchEventType::kAdded;
  if (type == "MODIFIED") return WatchEventType::kModified;
  if (type == "DELETED") return WatchEventType::kDeleted;
  if (type == "BOOKMARK") return WatchEventType::kBookmark;
  return std::nullopt;
}

// The member `key` of `object` if it is there, else null. Read-only lookups that never throw and
// never insert: json::value() throws when the member has another type than the default's, and a
// non-const operator[] adds the member, changing the object handed on.
const Json& Member(const Json& object, const char* key) {
  static const Json kNull;
  if (!object.is_object()) return kNull;
  const auto it = object.find(key);
  return it == object.end() ? kNull : *it;
}

std::string_view StringOr(const Json& value, std::string_view fallback) {
  return value.is_string() ? std::string_view(value.get_ref<const std::string&>()) : fallback;
}

}  // namespace

void WatchLineSplitter::Feed(std::string_view bytes, const std::function<void(std::string_view line)>& on_line) {
  pending_.append(bytes);
  std::size_t start = 0;
  for (std::size_t nl; (nl = pending_.find('\n', start)) != std::string::npos; start = nl + 1) {
    if (nl > start) on_line(std::string_view(pending_).substr(start, nl - start));
  }
  pending_.erase(0, start);
}

void WatchEventDecoder::Decode(std::string_view line, const std::function<void(WatchEvent&&)>& on_event) {
  if (error_) return;
  auto event = Json::parse(line, nullptr, /*allow_exceptions=*/false);
  const std::string_view type = StringOr(Member(event, "type"), "");
  if (type == "ERROR") {
    const Json& status = Member(event, "object");
    const Json& code = Member(status, "code");
    error_ = ErrorFromResponse(code.is_number_integer() ? code.get<int>() : 500, status.dump(), "", "watch", target_);
    return;
  }
  const auto parsed = ParseEventType(type);
  if (!parsed || !Member(event, "object").is_object()) {
    error_ = ClientError("InvalidResponse", "unreadable watch event: " + std::string(line.substr(0, 200)), "watch",
                         target_);
    return;
  }
  Json object = std::move(event["object"]);
  last_version_ = std::string(StringOr(Member(Member(object, "metadata"), "resourceVersion"), last_version_));
  on_event(WatchEvent{*parsed, std::move(object)});
}

}  // namespace kube
