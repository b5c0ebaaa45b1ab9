// ResumableWatch: keeps a watch going across connection ends, as client-go's reflector does.
//   - The server ends each watch after WatchOptions::timeout: resume at once from the last
//     resourceVersion seen (bookmarks keep it fresh, so a resume rarely replays anything).
//   - The connection breaks or the server answers an error: back off (exponential, jittered,
//     interruptible by `stop`) and resume from the same resourceVersion. A watch that ends quickly
//     without any event also backs off, so a misbehaving server cannot make this loop spin.
//   - The resourceVersion is gone (410 / Expired): return that error; the caller must relist and
//     start again from the list's resourceVersion.
// Returns only then, or when `stop` is requested (success).
#pragma once

#include <chrono>
#include <functional>
#include <random>
#include <stop_token>
#include <string>

#include "operator/kube/client.h"

namespace kube {

// Exponential back-off with jitter. Pure: the caller sleeps.
class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max) : initial_(initial), max_(max) {}
  // The next delay: initial, 2x, 4x ... up to max, each scaled by a random factor in [0.5, 1.0]
  // so that many clients do not retry in step.
  std::chrono::milliseconds Next();
  void Reset() { current_ = std::chrono::milliseconds(0); }

 private:
  std::chrono::milliseconds initial_, max_;
  std::chrono::milliseconds current_{0};
  std::minstd_rand rng_{std::random_device{}()};
};

// Sleeps `d`, or less when `stop` is requested. Returns false when stopped.
bool SleepFor(std::chrono::milliseconds d, std::stop_token stop);

struct ResumeOptions {
  std::chrono::milliseconds initial_backoff{500};
  std::chrono::milliseconds max_backoff{30'000};
  // A watch shorter than this that delivered nothing counts as a failure (back off before resuming).
  std::chrono::milliseconds min_healthy_watch{1'000};
};

// Calls `on_event` for every event after options.resource_version; `on_resume` (may be empty)
// after each reconnection, with the error that ended the previous connection ("" when the server
// ended it normally). Returns the Gone error, or success when stopped.
Result<void> ResumableWatch(Client& client, const GroupVersionResource& gvr, std::string_view ns, WatchOptions options,
                            const std::function<void(WatchEvent&&)>& on_event, std::stop_token stop,
                            const ResumeOptions& resume = {},
                            const std::function<void(const std::string& why)>& on_resume = {});

}  // namespace kube
