// Metrics: a small thread-safe registry rendered in the Prometheus text exposition format 0.0.4.
//
// Debian bookworm packages no Prometheus C++ client, and we need little: counters, gauges and
// fixed-bucket histograms, each optionally split by labels. Usage:
//
//   common::Metrics metrics;
//   auto& requests = metrics.CounterFamily("http_requests_total", "Requests served.",
//                                          {"route", "status"});
//   requests.WithLabels({"embed", "200"}).Inc();
//   std::string text = metrics.Render();   // serve with kPrometheusContentType
//
// Ownership: the registry owns every family and every series; references it hands out stay valid
// for the registry's lifetime (series are never removed), so hot paths may cache them.
//
// Cost: an observation on a cached series is one or two relaxed atomic operations. WithLabels()
// takes the family's reader lock for the lookup (a writer lock only the first time a label set
// is seen), never a registry-wide lock. Render() may run concurrently with observations; each value
// it prints is a coherent atomic read, and a histogram's _count always equals its +Inf bucket.
//
// Misuse that is a programming error (bad metric/label names, re-registering a name with another
// type, label names or buckets, wrong number of label values) throws std::invalid_argument.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace common {

inline constexpr std::string_view kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

// A monotonically increasing value (requests, bytes). Inc() with a negative delta is ignored.
class Counter {
 public:
  void Inc(double delta = 1.0);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// A value that goes up and down (in-flight requests, queue depth).
class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Inc(double delta = 1.0) { value_.fetch_add(delta, std::memory_order_relaxed); }
  void Dec(double delta = 1.0) { value_.fetch_sub(delta, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// Observations counted into fixed buckets given by their inclusive upper bounds (strictly
// increasing, finite; +Inf is implicit).
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);

  void Observe(double value);

  struct Snapshot {
    std::vector<std::uint64_t> cumulative;  // one per bound, then +Inf (== count)
    double sum = 0.0;
    std::uint64_t count = 0;
  };
  Snapshot Read() const;
  const std::vector<double>& upper_bounds() const { return bounds_; }

  // Seconds, 1 ms .. 10 s: request latencies.
  static std::vector<double> LatencyBuckets();

 private:
  std::vector<double> bounds_;
  // Per-bucket (not cumulative) counts, bounds_.size() + 1 entries; summed when read.
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
  std::atomic<double> sum_{0.0};
};

namespace metrics_internal {

// Orders label-value tuples so a std::map can be searched with views (no allocation per lookup).
struct LabelValuesLess {
  using is_transparent = void;
  template <class A, class B>
  bool operator()(const A& a, const B& b) const {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                        [](std::string_view x, std::string_view y) { return x < y; });
  }
};

class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, std::vector<std::string> label_names)
      : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}
  virtual ~FamilyBase() = default;
  virtual void Render(std::string& out) const = 0;
  virtual std::string_view type() const = 0;

  const std::string& name() const { return name_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  const std::vector<double>& upper_bounds() const { return bounds_; }  // histograms only
  void set_upper_bounds(std::vector<double> bounds) { bounds_ = std::move(bounds); }

 protected:
  void CheckArity(std::size_t n) const;

  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  std::vector<double> bounds_;
};

void AppendFamilyHeader(std::string& out, const std::string& name, const std::string& help, std::string_view type);
void AppendSeries(std::string& out, const std::string& name, const std::vector<std::string>& label_names,
                  const std::vector<std::string>& values, const Counter& series);
void AppendSeries(std::string& out, const std::string& name, const std::vector<std::string>& label_names,
                  const std::vector<std::string>& values, const Gauge& series);
void AppendSeries(std::string& out, const std::string& name, const std::vector<std::string>& label_names,
                  const std::vector<std::string>& values, const Histogram& series);
constexpr std::string_view TypeName(const Counter*) { return "counter"; }
constexpr std::string_view TypeName(const Gauge*) { return "gauge"; }
constexpr std::string_view TypeName(const Histogram*) { return "histogram"; }

}  // namespace metrics_internal

// All series of one metric name, one per distinct tuple of label values.
template <class Metric>
class Family final : public metrics_internal::FamilyBase {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::function<std::unique_ptr<Metric>()> make)
      : FamilyBase(std::move(name), std::move(help), std::move(label_names)), make_(std::move(make)) {}

  // The series for these label values, in the order of the family's label names; created on
  // first use.
  Metric& WithLabels(std::initializer_list<std::string_view> values) {
    return Get(std::span<const std::string_view>(values.begin(), values.size()));
  }
  Metric& WithLabels(const std::vector<std::string>& values) {
    std::vector<std::string_view> views(values.begin(), values.end());
    return Get(views);
  }

  // Calls f(label values, series) for every series, under the family's reader lock.
  template <class F>
  void ForEach(F&& f) const {
    std::shared_lock lock(mu_);
    for (const auto& [values, series] : series_) f(values, *series);
  }

  void Render(std::string& out) const override {
    metrics_internal::AppendFamilyHeader(out, name_, help_, type());
    std::shared_lock lock(mu_);
    for (const auto& [values, series] : series_) metrics_internal::AppendSeries(out, name_, label_names_, values, *series);
  }
  std::string_view type() const override { return metrics_internal::TypeName(static_cast<const Metric*>(nullptr)); }

 private:
  Metric& Get(std::span<const std::string_view> values) {
    {
      std::shared_lock lock(mu_);
      auto it = series_.find(values);
      if (it != series_.end()) return *it->second;
    }
    CheckArity(values.size());
    std::unique_lock lock(mu_);
    auto it = series_.find(values);
    if (it == series_.end()) {
      it = series_.emplace(std::vector<std::string>(values.begin(), values.end()), make_()).first;
    }
    return *it->second;
  }

  std::function<std::unique_ptr<Metric>()> make_;
  mutable std::shared_mutex mu_;  // guards series_ (the map, not the values: those are atomics)
  std::map<std::vector<std::string>, std::unique_ptr<Metric>, metrics_internal::LabelValuesLess> series_;
};

class Metrics {
 public:
  Metrics() = default;
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Registers a family, or returns the existing one of that name when type, label names (and
  // buckets) match.
  Family<Counter>& CounterFamily(std::string name, std::string help, std::vector<std::string> label_names);
  Family<Gauge>& GaugeFamily(std::string name, std::string help, std::vector<std::string> label_names);
  Family<Histogram>& HistogramFamily(std::string name, std::string help, std::vector<std::string> label_names,
                                     std::vector<double> upper_bounds);

  // Unlabelled shortcuts.
  Counter& GetCounter(std::string name, std::string help);
  Gauge& GetGauge(std::string name, std::string help);
  Histogram& GetHistogram(std::string name, std::string help, std::vector<double> upper_bounds);

  // Every family, sorted by name, series sorted by label values.
  std::string Render() const;

 private:
  template <class Metric>
  Family<Metric>& Register(std::string name, std::string help, std::vector<std::string> label_names,
                           std::function<std::unique_ptr<Metric>()> make, const std::vector<double>* bounds);

  mutable std::mutex mu_;  // guards families_ (registration and rendering only)
  std::map<std::string, std::unique_ptr<metrics_internal::FamilyBase>, std::less<>> families_;
};

}  // namespace common
