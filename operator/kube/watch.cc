#include "operator/kube/watch.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>

#include <spdlog/spdlog.h>

namespace kube {

std::chrono::milliseconds Backoff::Next() {
  current_ = current_.count() == 0 ? initial_ : std::min(current_ * 2, max_);
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  return std::chrono::milliseconds(static_cast<std::int64_t>(static_cast<double>(current_.count()) * jitter(rng_)));
}

bool SleepFor(std::chrono::milliseconds d, std::stop_token stop) {
  std::mutex mu;
  std::condition_variable_any cv;
  std::unique_lock lock(mu);
  return !cv.wait_for(lock, stop, d, [] { return false; }) && !stop.stop_requested();
}

Result<void> ResumableWatch(Client& client, const GroupVersionResource& gvr, std::string_view ns, WatchOptions options,
                            const std::function<void(WatchEvent&&)>& on_event, std::stop_token stop,
                            const ResumeOptions& resume, const std::function<void(const std::string&)>& on_resume) {
  Backoff backoff(resume.initial_backoff, resume.max_backoff);
  while (!stop.stop_requested()) {
    const auto started = std::chrono::steady_clock::now();
    bool got_event = false;
    // Track the version per event: a connection that breaks returns no version, and resuming from
    // an older one would deliver events twice.
    std::string seen = options.resource_version;
    auto ended = client.Watch(gvr, ns, options, [&](WatchEvent&& event) {
      got_event = true;
      const auto meta = event.object.find("metadata");
      if (meta != event.object.end() && meta->is_object()) seen = meta->value("resourceVersion", seen);
      on_event(std::move(event));
    }, stop);
    options.resource_version = seen;
    if (stop.stop_requested()) break;
    std::string why;
    if (ended) {
      if (!got_event && std::chrono::steady_clock::now() - started < resume.min_healthy_watch) {
        why = "watch " + DescribeTarget(gvr, ns, "") + " ended at once without events";
      } else {
        backoff.Reset();
      }
    } else {
      if (ended.error().Gone()) return common::Unexpected{ended.error()};
      why = ended.error().Describe();
      if (got_event) backoff.Reset();
    }
    if (!why.empty()) {
      const auto delay = backoff.Next();
      spdlog::warn("{}; resuming from resourceVersion {} in {} ms", why, options.resource_version, delay.count());
      if (!SleepFor(delay, stop)) break;
    }
    if (on_resume) on_resume(why);
  }
  return {};
}

}  // namespace kube
