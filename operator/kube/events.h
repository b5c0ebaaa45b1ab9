// EventRecorder: records Kubernetes Events (events.k8s.io/v1) about objects, the way
// client-go's events package does: the Event is named after the object it regards, lives in that
// object's namespace ("default" for a cluster-scoped one), and names the reporting controller and
// instance. Repeats of the same event (same object, type, reason, action and note) within six
// minutes do not create new Events: the first Event's series (count, lastObservedTime) is
// patched instead, so a hot loop cannot flood etcd. The Client must outlive the recorder.
// Thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "operator/kube/client.h"

namespace kube {

enum class EventType { kNormal, kWarning };

class EventRecorder {
 public:
  using NowFn = std::function<WallTime()>;
  EventRecorder(Client& client, std::string reporting_controller, std::string reporting_instance,
                NowFn now = [] { return std::chrono::system_clock::now(); });

  // `regarding` needs apiVersion, kind and metadata.name (namespace, uid and resourceVersion are
  // copied when present). `reason` is UpperCamelCase, `action` what was done; `note` is cut to
  // 1 kB. Answers the Event as stored.
  Result<Json> Record(const Json& regarding, EventType type, const std::string& reason, const std::string& action,
                      const std::string& note);

 private:
  struct Series {
    std::string ns, name;
    int count = 1;
    WallTime first;
  };

  Client& client_;
  const std::string controller_, instance_;
  const NowFn now_;
  std::mutex mu_;
  std::map<std::string, Series> recent_;  // by the repeat key
};

}  // namespace kube
