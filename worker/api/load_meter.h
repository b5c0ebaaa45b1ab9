// LoadMeter: this member's load as the prototype's /cluster/status reports it — CPU and memory
// of the process, API requests per second over the last minute and their p95 latency — sampled
// once a second on its own thread from /proc and from the HTTP server's own metrics. It keeps the
// last five minutes of those samples for the console's charts (/cluster/history).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

#include "common/metrics.h"

namespace api {

struct Load {
  double cpu_pct = 0;  // of all cores, over the last second
  double mem_pct = 0;  // resident memory, of the machine's
  double qps_1m = 0;   // requests answered per second, last minute
  double p95_ms = 0;   // their 95th percentile latency (a histogram bucket bound), last minute
};

// One second of a member's load, as /cluster/history reports it.
struct LoadSample {
  std::int64_t unix_ms = 0;  // when the second ended
  double cpu_pct = 0;
  double mem_pct = 0;
  double rps = 0;     // requests answered in that second
  double p95_ms = 0;  // over the minute up to it, as Load::p95_ms
};

// Resident set size of this process.
double ResidentMemoryBytes();

class LoadMeter {
 public:
  // Counts requests to the routes for which `counts(route name)` holds (the API, not probes).
  LoadMeter(common::Metrics& metrics, std::function<bool(std::string_view)> counts);
  ~LoadMeter();
  LoadMeter(const LoadMeter&) = delete;
  LoadMeter& operator=(const LoadMeter&) = delete;

  Load Current() const;
  // The samples of the last kHistorySeconds, oldest first.
  std::vector<LoadSample> History() const;
  static constexpr std::size_t kHistorySeconds = 300;

 private:
  struct Sample {
    std::chrono::steady_clock::time_point at;
    double cpu_seconds = 0;
    std::vector<std::uint64_t> cumulative;  // per latency bucket, summed over counted routes
  };
  Sample Take() const;
  double MemoryPct() const;
  void Run();

  common::Family<common::Histogram>& latency_;
  const std::function<bool(std::string_view)> counts_;
  const double machine_memory_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::deque<Sample> window_;  // the last minute, oldest first
  Load current_;
  std::deque<LoadSample> history_;  // oldest first, at most kHistorySeconds
  std::thread thread_;
};

}  // namespace api
