#include "operator/kube/client.h"

#include <thread>

#include "operator/kube/transport.h"

namespace kube {

using common::Unexpected;

struct Client::Call {
  std::string verb;  // for errors and the retry rule
  std::string method;
  std::string path;  // with query
  std::string body;
  std::string content_type;
  std::string target;
};

namespace {

constexpr const char* kJson = "application/json";

std::string Name(const Json& object) {
  const Json* name = object.is_object() && object.contains("metadata") ? &object["metadata"] : nullptr;
  return name && name->is_object() ? name->value("name", "") : "";
}

}  // namespace

std::string DescribeTarget(const GroupVersionResource& gvr, std::string_view ns, std::string_view name) {
  std::string out = gvr.group.empty() ? gvr.resource : gvr.resource + "." + gvr.group;
  if (!name.empty()) out += " \"" + std::string(name) + "\"";
  if (gvr.namespaced && !ns.empty()) out += " in namespace \"" + std::string(ns) + "\"";
  return out;
}

common::Expected<std::unique_ptr<Client>, std::string> Client::FromConfig(const Config& config, ClientOptions options) {
  auto transport = Transport::Create(config, options.timeout);
  if (!transport) return Unexpected{transport.error()};
  return std::unique_ptr<Client>(new Client(config, options, std::move(*transport)));
}

Client::Client(Config config, ClientOptions options, std::unique_ptr<Transport> transport)
    : config_(std::move(config)), options_(options), transport_(std::move(transport)) {}
Client::~Client() = default;

Result<Json> Client::Do(const Call& call) {
  for (int attempt = 1;; ++attempt) {
    auto response = transport_->Send(HttpRequest{call.method, call.path, call.body, call.content_type, "application/json"});
    ApiError error;
    if (!response) {
      error = ClientError("", response.error(), call.verb, call.target);
    } else if (response->status >= 200 && response->status <= 299) {
      if (response->body.empty()) return Json::object();
      auto parsed = Json::parse(response->body, nullptr, /*allow_exceptions=*/false);
      if (parsed.is_discarded()) {
        return Unexpected{ClientError("InvalidResponse", "the answer is not JSON", call.verb, call.target)};
      }
      return parsed;
    } else {
      error = ErrorFromResponse(response->status, response->body, response->retry_after, call.verb, call.target);
    }
    const auto delay = RetryDelay(options_.retry, error, attempt);
    if (!delay) return Unexpected{std::move(error)};
    std::this_thread::sleep_for(*delay);
  }
}

Result<Json> Client::Get(const GroupVersionResource& gvr, std::string_view ns, std::string_view name) {
  const std::string target = DescribeTarget(gvr, ns, name);
  if (name.empty()) return Unexpected{ClientError("Invalid", "a name is required", "get", target)};
  auto path = ResourcePath(gvr, ns, name);
  if (!path) return Unexpected{ClientError("Invalid", path.error(), "get", target)};
  return Do({"get", "GET", *path, "", "", target});
}

Result<Json> Client::List(const GroupVersionResource& gvr, std::string_view ns, const ListOptions& options) {
  const std::string target = DescribeTarget(gvr, ns, "");
  auto path = ResourcePath(gvr, ns);
  if (!path) return Unexpected{ClientError("Invalid", path.error(), "list", target)};
  QueryParams query;
  if (!options.label_selector.empty()) query.emplace_back("labelSelector", options.label_selector);
  if (!options.field_selector.empty()) query.emplace_back("fieldSelector", options.field_selector);
  if (options.limit > 0) query.emplace_back("limit", std::to_string(options.limit));
  if (!options.continue_token.empty()) query.emplace_back("continue", options.continue_token);
  if (!options.resource_version.empty()) query.emplace_back("resourceVersion", options.resource_version);
  return Do({"list", "GET", *path + QueryString(query), "", "", target});
}

Result<Json> Client::ListAll(const GroupVersionResource& gvr, std::string_view ns, ListOptions options) {
  Json all;
  for (;;) {
    auto page = List(gvr, ns, options);
    if (!page) return page;
    const Json& meta = (*page)["metadata"];
    const std::string next = meta.is_object() ? meta.value("continue", "") : "";
    if (all.is_null()) {
      all = std::move(*page);
      if (!all["items"].is_array()) all["items"] = Json::array();
    } else if ((*page)["items"].is_array()) {
      for (auto& item : (*page)["items"]) all["items"].push_back(std::move(item));
    }
    if (next.empty()) break;
    // The continue token pins the first page's snapshot; a resourceVersion may not come with it.
    options.resource_version.clear();
    options.continue_token = next;
  }
  if (all["metadata"].is_object()) all["metadata"].erase("continue");
  return all;
}

Result<Json> Client::Write(std::string verb, std::string method, const GroupVersionResource& gvr, std::string_view ns,
                           std::string_view name, std::string_view subresource, const Json& body,
                           std::string content_type, QueryParams query) {
  const std::string target = DescribeTarget(gvr, ns, name) + (subresource.empty() ? "" : " (" + std::string(subresource) + ")");
  if (!body.is_object()) return Unexpected{ClientError("Invalid", "the body must be a JSON object", verb, target)};
  if (verb != "create" && name.empty()) return Unexpected{ClientError("Invalid", "a name is required", verb, target)};
  auto path = ResourcePath(gvr, ns, name, subresource);
  if (!path) return Unexpected{ClientError("Invalid", path.error(), verb, target)};
  return Do({std::move(verb), std::move(method), *path + QueryString(query), body.dump(), std::move(content_type), target});
}

Result<Json> Client::Create(const GroupVersionResource& gvr, std::string_view ns, const Json& object) {
  return Write("create", "POST", gvr, ns, "", "", object, kJson);
}

Result<Json> Client::Update(const GroupVersionResource& gvr, std::string_view ns, const Json& object) {
  return Write("update", "PUT", gvr, ns, Name(object), "", object, kJson);
}

Result<Json> Client::UpdateStatus(const GroupVersionResource& gvr, std::string_view ns, const Json& object) {
  return Write("update", "PUT", gvr, ns, Name(object), "status", object, kJson);
}

Result<Json> Client::Delete(const GroupVersionResource& gvr, std::string_view ns, std::string_view name,
                            const DeleteOptions& options) {
  Json body = {{"apiVersion", "v1"}, {"kind", "DeleteOptions"}};
  switch (options.propagation) {
    case Propagation::kDefault: break;
    case Propagation::kForeground: body["propagationPolicy"] = "Foreground"; break;
    case Propagation::kBackground: body["propagationPolicy"] = "Background"; break;
    case Propagation::kOrphan: body["propagationPolicy"] = "Orphan"; break;
  }
  if (!options.precondition_uid.empty()) body["preconditions"]["uid"] = options.precondition_uid;
  if (!options.precondition_resource_version.empty()) {
    body["preconditions"]["resourceVersion"] = options.precondition_resource_version;
  }
  if (options.grace_period_seconds) body["gracePeriodSeconds"] = *options.grace_period_seconds;
  return Write("delete", "DELETE", gvr, ns, name, "", body, kJson);
}

Result<Json> Client::MergePatch(const GroupVersionResource& gvr, std::string_view ns, std::string_view name,
                                const Json& patch, std::string_view subresource) {
  return Write("patch", "PATCH", gvr, ns, name, subresource, patch, "application/merge-patch+json");
}

Result<Json> Client::Apply(const GroupVersionResource& gvr, std::string_view ns, const Json& object,
                           const ApplyOptions& options, std::string_view subresource) {
  const std::string name = Name(object);
  if (options.field_manager.empty()) {
    return Unexpected{ClientError("Invalid", "server-side apply needs a field manager", "apply",
                                  DescribeTarget(gvr, ns, name))};
  }
  QueryParams query = {{"fieldManager", options.field_manager}};
  if (options.force) query.emplace_back("force", "true");
  return Write("apply", "PATCH", gvr, ns, name, subresource, object, "application/apply-patch+yaml", std::move(query));
}

Result<Json> Client::GetScale(const GroupVersionResource& gvr, std::string_view ns, std::string_view name) {
  const std::string target = DescribeTarget(gvr, ns, name) + " (scale)";
  auto path = ResourcePath(gvr, ns, name, "scale");
  if (!path) return Unexpected{ClientError("Invalid", path.error(), "get", target)};
  return Do({"get", "GET", *path, "", "", target});
}

Result<Json> Client::SetScale(const GroupVersionResource& gvr, std::string_view ns, std::string_view name,
                              std::int32_t replicas) {
  if (replicas < 0) {
    return Unexpected{ClientError("Invalid", "replicas must not be negative", "patch", DescribeTarget(gvr, ns, name))};
  }
  return MergePatch(gvr, ns, name, {{"spec", {{"replicas", replicas}}}}, "scale");
}

Result<std::string> Client::Watch(const GroupVersionResource& gvr, std::string_view ns, const WatchOptions& options,
                                  const std::function<void(WatchEvent&&)>& on_event, std::stop_token stop) {
  const std::string target = DescribeTarget(gvr, ns, "");
  auto path = ResourcePath(gvr, ns);
  if (!path) return Unexpected{ClientError("Invalid", path.error(), "watch", target)};
  QueryParams query = {{"watch", "true"}, {"timeoutSeconds", std::to_string(options.timeout.count())}};
  if (!options.resource_version.empty()) query.emplace_back("resourceVersion", options.resource_version);
  if (options.allow_bookmarks) query.emplace_back("allowWatchBookmarks", "true");
  if (!options.label_selector.empty()) query.emplace_back("labelSelector", options.label_selector);
  if (!options.field_selector.empty()) query.emplace_back("fieldSelector", options.field_selector);

  WatchEventDecoder decoder(target, options.resource_version);
  // The stream is silent between events; it must still end by itself shortly after the server's
  // own timeout, so a half-open connection is noticed.
  const auto idle_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(options.timeout) + std::chrono::seconds(30);
  auto response = transport_->Stream(HttpRequest{"GET", *path + QueryString(query), "", "", "application/json"},
                                     idle_timeout, [&](std::string_view line) { decoder.Decode(line, on_event); }, stop);
  if (!response) return Unexpected{ClientError("", response.error(), "watch", target)};
  if (response->status < 200 || response->status > 299) {
    return Unexpected{ErrorFromResponse(response->status, response->body, response->retry_after, "watch", target)};
  }
  if (decoder.error()) return Unexpected{*decoder.error()};
  return decoder.last_version();
}

}  // namespace kube
