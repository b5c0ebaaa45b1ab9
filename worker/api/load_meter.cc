#include "worker/api/load_meter.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>

namespace api {
namespace {

constexpr auto kWindow = std::chrono::seconds(60);

double ProcessCpuSeconds() {
  std::ifstream in("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  unsigned long utime = 0, stime = 0;
  if (std::sscanf(stat.c_str() + close + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime,
                  &stime) != 2) {
    return 0;
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double MachineMemoryBytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  double kb = 0;
  while (in >> key >> kb) {
    if (key == "MemTotal:") return kb * 1024;
    in.ignore(256, '\n');
  }
  return 0;
}

}  // namespace

double ResidentMemoryBytes() {
  long pages = 0;
  if (FILE* statm = std::fopen("/proc/self/statm", "r")) {
    long size = 0;
    if (std::fscanf(statm, "%ld %ld", &size, &pages) != 2) pages = 0;
    std::fclose(statm);
  }
  return static_cast<double>(pages) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

LoadMeter::LoadMeter(common::Metrics& metrics, std::function<bool(std::string_view)> counts)
    : latency_(metrics.HistogramFamily("http_request_duration_seconds",
                                       "Time from the first byte of a request to the end of its answer.", {"route"},
                                       common::Histogram::LatencyBuckets())),
      counts_(std::move(counts)),
      machine_memory_(MachineMemoryBytes()) {
  window_.push_back(Take());
  current_.mem_pct = MemoryPct();  // the rest needs two samples
  thread_ = std::thread([this] { Run(); });
}

LoadMeter::~LoadMeter() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

double LoadMeter::MemoryPct() const {
  return machine_memory_ > 0 ? 100.0 * ResidentMemoryBytes() / machine_memory_ : 0;
}

Load LoadMeter::Current() const {
  std::lock_guard lk(mu_);
  return current_;
}

std::vector<LoadSample> LoadMeter::History() const {
  std::lock_guard lk(mu_);
  return {history_.begin(), history_.end()};
}

LoadMeter::Sample LoadMeter::Take() const {
  Sample s{std::chrono::steady_clock::now(), ProcessCpuSeconds(),
           std::vector<std::uint64_t>(latency_.upper_bounds().size() + 1, 0)};
  latency_.ForEach([&](const std::vector<std::string>& labels, const common::Histogram& h) {
    if (!counts_(labels.front())) return;
    const auto snap = h.Read();
    for (std::size_t i = 0; i < snap.cumulative.size() && i < s.cumulative.size(); ++i) s.cumulative[i] += snap.cumulative[i];
  });
  return s;
}

void LoadMeter::Run() {
  const double cores = std::max(1u, std::thread::hardware_concurrency());
  std::unique_lock lk(mu_);
  while (!cv_.wait_for(lk, std::chrono::seconds(1), [&] { return stop_; })) {
    lk.unlock();
    Sample now = Take();
    lk.lock();
    const Sample& last = window_.back();
    while (window_.size() > 1 && now.at - window_.front().at > kWindow) window_.pop_front();
    const Sample& oldest = window_.front();
    const double elapsed = std::chrono::duration<double>(now.at - last.at).count();
    const double span = std::chrono::duration<double>(now.at - oldest.at).count();
    current_.cpu_pct = elapsed > 0 ? 100.0 * (now.cpu_seconds - last.cpu_seconds) / (elapsed * cores) : 0;
    current_.mem_pct = MemoryPct();
    const double requests = static_cast<double>(now.cumulative.back() - oldest.cumulative.back());
    current_.qps_1m = span > 0 ? requests / span : 0;
    current_.p95_ms = 0;
    const auto& bounds = latency_.upper_bounds();
    for (std::size_t i = 0; requests > 0 && i < bounds.size(); ++i) {
      current_.p95_ms = bounds[i] * 1000;  // beyond the last bound, the last bound is reported
      if (static_cast<double>(now.cumulative[i] - oldest.cumulative[i]) >= 0.95 * requests) break;
    }
    const double last_second = static_cast<double>(now.cumulative.back() - last.cumulative.back());
    history_.push_back({.unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::system_clock::now().time_since_epoch()).count(),
                        .cpu_pct = current_.cpu_pct,
                        .mem_pct = current_.mem_pct,
                        .rps = elapsed > 0 ? last_second / elapsed : 0,
                        .p95_ms = current_.p95_ms});
    if (history_.size() > kHistorySeconds) history_.pop_front();
    window_.push_back(std::move(now));
  }
}

}  // namespace api
