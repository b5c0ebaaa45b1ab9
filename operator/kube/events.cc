#include "operator/kube/events.h"

#include <cstdio>

namespace kube {

namespace {
constexpr auto kSeriesWindow = std::chrono::minutes(6);  // client-go's isomorphic-event window
constexpr std::size_t kMaxNote = 1024;                    // the API's limit on note
}  // namespace

EventRecorder::EventRecorder(Client& client, std::string reporting_controller, std::string reporting_instance,
                             NowFn now)
    : client_(client), controller_(std::move(reporting_controller)), instance_(std::move(reporting_instance)),
      now_(std::move(now)) {}

Result<Json> EventRecorder::Record(const Json& regarding, EventType type, const std::string& reason,
                                   const std::string& action, const std::string& note) {
  const Json meta = regarding.is_object() ? regarding.value("metadata", Json::object()) : Json::object();
  const std::string name = meta.value("name", "");
  if (name.empty() || !regarding.contains("kind") || !regarding.contains("apiVersion")) {
    return common::Unexpected{ClientError("Invalid", "the regarded object needs apiVersion, kind and metadata.name",
                                          "create", "events.events.k8s.io")};
  }
  if (reason.empty() || action.empty()) {
    return common::Unexpected{ClientError("Invalid", "an event needs a reason and an action", "create",
                                          "events.events.k8s.io")};
  }
  const std::string ns = meta.value("namespace", "default");
  const std::string type_name = type == EventType::kNormal ? "Normal" : "Warning";
  const std::string shown_note = note.substr(0, kMaxNote);
  const WallTime now = now_();

  std::lock_guard lock(mu_);
  std::erase_if(recent_, [&](const auto& entry) { return now - entry.second.first >= kSeriesWindow; });
  const std::string key = regarding.value("apiVersion", "") + "\n" + regarding.value("kind", "") + "\n" + ns + "\n" +
                          name + "\n" + meta.value("uid", "") + "\n" + type_name + "\n" + reason + "\n" + action +
                          "\n" + shown_note;
  if (auto it = recent_.find(key); it != recent_.end()) {
    const Json patch = {{"series", {{"count", it->second.count + 1}, {"lastObservedTime", FormatMicroTime(now)}}}};
    auto patched = client_.MergePatch(resources::kEvents, it->second.ns, it->second.name, patch);
    if (patched) {
      ++it->second.count;
      return patched;
    }
    if (!patched.error().NotFound()) return patched;
    recent_.erase(it);  // the Event expired (TTL) or was deleted: start a new one
  }

  Json ref = {{"apiVersion", regarding["apiVersion"]}, {"kind", regarding["kind"]}, {"name", name}};
  for (const char* field : {"namespace", "uid", "resourceVersion"}) {
    if (meta.contains(field)) ref[field] = meta[field];
  }
  // client-go's naming: the object's name and the time in hex nanoseconds, unique per recorder.
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, ".%llx",
                static_cast<unsigned long long>(
                    std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count()));
  const Json event = {
      {"apiVersion", "events.k8s.io/v1"},
      {"kind", "Event"},
      {"metadata", {{"name", name + suffix}, {"namespace", ns}}},
      {"eventTime", FormatMicroTime(now)},
      {"reportingController", controller_},
      {"reportingInstance", instance_},
      {"action", action},
      {"reason", reason},
      {"regarding", ref},
      {"note", shown_note},
      {"type", type_name},
  };
  auto created = client_.Create(resources::kEvents, ns, event);
  if (created) recent_[key] = Series{ns, name + suffix, 1, now};
  return created;
}

}  // namespace kube
