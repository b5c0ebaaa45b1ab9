// Client: the Kubernetes REST verbs on any resource addressed by group/version/resource (+
// namespace), core or custom, with objects as nlohmann::json. Every call returns a value or an
// ApiError (never throws), is bounded by ClientOptions::timeout per attempt, and is retried by
// RetryPolicy (429 for all verbs, 5xx/transport failures for idempotent ones; see api_error.h).
// Semantics follow client-go's dynamic client. Thread-safe: share one Client between threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "operator/kube/api_error.h"
#include "operator/kube/config.h"
#include "operator/kube/conventions.h"
#include "operator/kube/watch_stream.h"  // WatchEvent

namespace kube {

class Transport;

using Json = nlohmann::json;

struct ClientOptions {
  std::chrono::milliseconds timeout{30'000};  // per attempt of a non-watch call
  RetryPolicy retry;
};

struct ListOptions {
  std::string label_selector{};
  std::string field_selector{};
  std::int64_t limit = 0;        // page size; 0: no paging
  std::string continue_token{};  // from the previous page's metadata.continue
  std::string resource_version{};
};

enum class Propagation { kDefault, kForeground, kBackground, kOrphan };

struct DeleteOptions {
  Propagation propagation = Propagation::kDefault;
  std::string precondition_uid{};               // delete only this incarnation of the name
  std::string precondition_resource_version{};  // delete only if unchanged
  std::optional<std::int64_t> grace_period_seconds{};
};

struct ApplyOptions {
  std::string field_manager;  // required
  bool force = false;         // take fields owned by other managers instead of failing with 409
};

struct WatchOptions {
  std::string resource_version;  // start after this version; "" = from "now", with the current state as ADDED events
  std::string label_selector;
  std::string field_selector;
  bool allow_bookmarks = true;
  std::chrono::seconds timeout{300};  // the server ends the watch after this (timeoutSeconds)
};

class Client {
 public:
  // Error: the Config cannot be used (bad URL, bad TLS material).
  static common::Expected<std::unique_ptr<Client>, std::string> FromConfig(const Config& config,
                                                                           ClientOptions options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  Result<Json> Get(const GroupVersionResource& gvr, std::string_view ns, std::string_view name);
  // One page: a List object whose metadata.continue is set when there are more.
  Result<Json> List(const GroupVersionResource& gvr, std::string_view ns, const ListOptions& options = {});
  // Every page, fetched `options.limit` at a time (all from one consistent snapshot): a List object
  // with all items and the snapshot's metadata.resourceVersion.
  Result<Json> ListAll(const GroupVersionResource& gvr, std::string_view ns, ListOptions options = {});
  Result<Json> Create(const GroupVersionResource& gvr, std::string_view ns, const Json& object);
  // PUT of the whole object (named by metadata.name). A metadata.resourceVersion in it makes the
  // update conditional: a stale one gets a Conflict error.
  Result<Json> Update(const GroupVersionResource& gvr, std::string_view ns, const Json& object);
  Result<Json> UpdateStatus(const GroupVersionResource& gvr, std::string_view ns, const Json& object);
  // Answers the object as the server left it (it may linger with a deletionTimestamp) or a Status.
  Result<Json> Delete(const GroupVersionResource& gvr, std::string_view ns, std::string_view name,
                      const DeleteOptions& options = {});
  // RFC 7386 JSON merge patch; `subresource` "status" or "scale" to patch those.
  Result<Json> MergePatch(const GroupVersionResource& gvr, std::string_view ns, std::string_view name,
                          const Json& patch, std::string_view subresource = {});
  // Server-side apply of `object` (with apiVersion, kind, metadata.name) as options.field_manager.
  Result<Json> Apply(const GroupVersionResource& gvr, std::string_view ns, const Json& object,
                     const ApplyOptions& options, std::string_view subresource = {});
  // The scale subresource (autoscaling/v1 Scale).
  Result<Json> GetScale(const GroupVersionResource& gvr, std::string_view ns, std::string_view name);
  Result<Json> SetScale(const GroupVersionResource& gvr, std::string_view ns, std::string_view name,
                        std::int32_t replicas);

  // One watch connection: every event goes to `on_event` in order. Returns the last resourceVersion
  // seen (from objects and bookmarks; options.resource_version when none) when the server ends the
  // watch (its timeout) or `stop` is requested. Errors: Gone() when the version is too old (the
  // caller must relist), a transport error when the connection broke, any HTTP error. Not retried:
  // ResumableWatch (watch.h) adds resumption and back-off.
  Result<std::string> Watch(const GroupVersionResource& gvr, std::string_view ns, const WatchOptions& options,
                            const std::function<void(WatchEvent&&)>& on_event, std::stop_token stop);

  const Config& config() const { return config_; }

 private:
  struct Call;
  Client(Config config, ClientOptions options, std::unique_ptr<Transport> transport);
  Result<Json> Do(const Call& call);
  Result<Json> Write(std::string verb, std::string method, const GroupVersionResource& gvr, std::string_view ns,
                     std::string_view name, std::string_view subresource, const Json& body,
                     std::string content_type, QueryParams query = {});

  const Config config_;
  const ClientOptions options_;
  std::unique_ptr<Transport> transport_;
};

// `configmaps "x" in namespace "ns"`: how errors name their target.
std::string DescribeTarget(const GroupVersionResource& gvr, std::string_view ns, std::string_view name);

}  // namespace kube
