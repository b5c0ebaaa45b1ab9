#include "operator/kube/informer.h"

#include <spdlog/spdlog.h>

namespace kube {

Informer::Informer(Client& client, GroupVersionResource gvr, InformerOptions options, EventHandlers handlers)
    : client_(client), gvr_(std::move(gvr)), options_(std::move(options)), handlers_(std::move(handlers)) {}

Informer::~Informer() { Stop(); }

void Informer::Start() {
  thread_ = std::jthread([this](std::stop_token stop) { Run(stop); });
}

void Informer::Stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  thread_.join();
}

bool Informer::WaitForSync(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return synced_cv_.wait_for(lock, timeout, [this] { return synced_; });
}

void Informer::Dispatch(const Delta& delta) {
  switch (delta.kind) {
    case Delta::Kind::kAdded:
      if (handlers_.on_add) handlers_.on_add(delta.object);
      break;
    case Delta::Kind::kUpdated:
      if (handlers_.on_update) handlers_.on_update(delta.old_object, delta.object);
      break;
    case Delta::Kind::kDeleted:
      if (handlers_.on_delete) handlers_.on_delete(delta.object);
      break;
  }
}

void Informer::Run(std::stop_token stop) {
  const std::string what = DescribeTarget(gvr_, options_.ns, "");
  Backoff backoff(options_.resume.initial_backoff, options_.resume.max_backoff);
  while (!stop.stop_requested()) {
    ListOptions list_options;
    list_options.label_selector = options_.label_selector;
    list_options.limit = options_.page_size;
    auto list = client_.ListAll(gvr_, options_.ns, list_options);
    if (!list) {
      const auto delay = backoff.Next();
      spdlog::warn("informer {}: {}; listing again in {} ms", what, list.error().Describe(), delay.count());
      SleepFor(delay, stop);
      continue;
    }
    backoff.Reset();
    for (const Delta& delta : store_.Replace((*list)["items"].get<std::vector<Json>>())) Dispatch(delta);
    ++lists_;
    {
      std::lock_guard lock(mu_);
      synced_ = true;
    }
    synced_cv_.notify_all();

    WatchOptions watch;
    const Json& meta = (*list)["metadata"];
    watch.resource_version = meta.is_object() ? meta.value("resourceVersion", "") : "";
    watch.label_selector = options_.label_selector;
    watch.timeout = options_.watch_timeout;
    auto ended = ResumableWatch(
        client_, gvr_, options_.ns, watch,
        [this](WatchEvent&& event) {
          if (auto delta = store_.Apply(event)) Dispatch(*delta);
        },
        stop, options_.resume, [this](const std::string&) { ++resumes_; });
    if (!ended) spdlog::info("informer {}: {}; relisting", what, ended.error().Describe());
  }
}

}  // namespace kube
