#include "common/metrics.h"

#include <charconv>
#include <cmath>
#include <stdexcept>

namespace common {
namespace {

bool IsMetricName(std::string_view s) {
  if (s.empty()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

bool IsLabelName(std::string_view s) {
  if (s.empty() || s.starts_with("__")) return false;  // "__" is reserved by Prometheus
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

// Shortest text that reads back as the same double; the spellings Prometheus expects for
// non-finite values.
void AppendNumber(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, ec == std::errc() ? end : buf);
  }
}

void AppendEscaped(std::string& out, std::string_view s, bool escape_quote) {
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && escape_quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

// Appends `{a="x",b="y"` plus an optional extra pair, and the closing brace; nothing when there are
// no labels at all.
void AppendLabels(std::string& out, const std::vector<std::string>& names, const std::vector<std::string>& values,
                  std::string_view extra_name = {}, std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) return;
  out += '{';
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    out += names[i];
    out += "=\"";
    AppendEscaped(out, values[i], /*escape_quote=*/true);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!names.empty()) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
}

void AppendHeader(std::string& out, const std::string& name, const std::string& help, std::string_view type) {
  out += "# HELP ";
  out += name;
  out += ' ';
  AppendEscaped(out, help, /*escape_quote=*/false);
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void AppendSample(std::string& out, std::string_view name, const std::vector<std::string>& label_names,
                  const std::vector<std::string>& label_values, double value) {
  out += name;
  AppendLabels(out, label_names, label_values);
  out += ' ';
  AppendNumber(out, value);
  out += '\n';
}

}  // namespace

void Counter::Inc(double delta) {
  if (delta >= 0) value_.fetch_add(delta, std::memory_order_relaxed);
}

Histogram::Histogram(std::vector<double> upper_bounds) : bounds_(std::move(upper_bounds)) {
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    if (!std::isfinite(bounds_[i]) || (i > 0 && bounds_[i] <= bounds_[i - 1])) {
      throw std::invalid_argument("histogram bounds must be finite and strictly increasing");
    }
  }
  buckets_ = std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1);
}

void Histogram::Observe(double value) {
  // Few buckets: a linear scan beats a binary search and keeps the common (small) case short.
  std::size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot s;
  s.cumulative.reserve(bounds_.size() + 1);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> Histogram::LatencyBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

namespace metrics_internal {

void FamilyBase::CheckArity(std::size_t n) const {
  if (n != label_names_.size()) {
    throw std::invalid_argument("metric " + name_ + " takes " + std::to_string(label_names_.size()) +
                                " label values, got " + std::to_string(n));
  }
}

void AppendFamilyHeader(std::string& out, const std::string& name, const std::string& help, std::string_view type) {
  AppendHeader(out, name, help, type);
}

void AppendSeries(std::string& out, const std::string& name, const std::vector<std::string>& label_names,
                  const std::vector<std::string>& values, const Counter& series) {
  AppendSample(out, name, label_names, values, series.Value());
}

void AppendSeries(std::string& out, const std::string& name, const std::vector<std::string>& label_names,
                  const std::vector<std::string>& values, const Gauge& series) {
  AppendSample(out, name, label_names, values, series.Value());
}

void AppendSeries(std::string& out, const std::string& name, const std::vector<std::string>& label_names,
                  const std::vector<std::string>& values, const Histogram& series) {
  const Histogram::Snapshot snap = series.Read();
  const auto& bounds = series.upper_bounds();
  for (std::size_t i = 0; i < snap.cumulative.size(); ++i) {
    std::string le;
    if (i < bounds.size()) {
      AppendNumber(le, bounds[i]);
    } else {
      le = "+Inf";
    }
    out += name;
    out += "_bucket";
    AppendLabels(out, label_names, values, "le", le);
    out += ' ';
    AppendNumber(out, static_cast<double>(snap.cumulative[i]));
    out += '\n';
  }
  AppendSample(out, name + "_sum", label_names, values, snap.sum);
  AppendSample(out, name + "_count", label_names, values, static_cast<double>(snap.count));
}

}  // namespace metrics_internal

template <class Metric>
Family<Metric>& Metrics::Register(std::string name, std::string help, std::vector<std::string> label_names,
                                  std::function<std::unique_ptr<Metric>()> make, const std::vector<double>* bounds) {
  if (!IsMetricName(name)) throw std::invalid_argument("invalid metric name: " + name);
  for (std::size_t i = 0; i < label_names.size(); ++i) {
    if (!IsLabelName(label_names[i])) throw std::invalid_argument("invalid label name: " + label_names[i]);
    if (bounds != nullptr && label_names[i] == "le") {
      throw std::invalid_argument("histogram " + name + " may not use the label name le");
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (label_names[i] == label_names[j]) throw std::invalid_argument("duplicate label name: " + label_names[i]);
    }
  }
  std::lock_guard lock(mu_);
  auto it = families_.find(name);
  if (it != families_.end()) {
    auto* existing = dynamic_cast<Family<Metric>*>(it->second.get());
    if (existing == nullptr || existing->label_names() != label_names ||
        (bounds != nullptr && existing->upper_bounds() != *bounds)) {
      throw std::invalid_argument("metric " + name + " is already registered with another shape");
    }
    return *existing;
  }
  auto family = std::make_unique<Family<Metric>>(name, std::move(help), std::move(label_names), std::move(make));
  if (bounds != nullptr) family->set_upper_bounds(*bounds);
  auto& ref = *family;
  families_.emplace(std::move(name), std::move(family));
  return ref;
}

Family<Counter>& Metrics::CounterFamily(std::string name, std::string help, std::vector<std::string> label_names) {
  return Register<Counter>(std::move(name), std::move(help), std::move(label_names),
                           [] { return std::make_unique<Counter>(); }, nullptr);
}

Family<Gauge>& Metrics::GaugeFamily(std::string name, std::string help, std::vector<std::string> label_names) {
  return Register<Gauge>(std::move(name), std::move(help), std::move(label_names),
                         [] { return std::make_unique<Gauge>(); }, nullptr);
}

Family<Histogram>& Metrics::HistogramFamily(std::string name, std::string help, std::vector<std::string> label_names,
                                            std::vector<double> upper_bounds) {
  Histogram probe(upper_bounds);  // validates the bounds before anything is registered
  return Register<Histogram>(std::move(name), std::move(help), std::move(label_names),
                             [upper_bounds] { return std::make_unique<Histogram>(upper_bounds); }, &upper_bounds);
}

Counter& Metrics::GetCounter(std::string name, std::string help) {
  return CounterFamily(std::move(name), std::move(help), {}).WithLabels({});
}

Gauge& Metrics::GetGauge(std::string name, std::string help) {
  return GaugeFamily(std::move(name), std::move(help), {}).WithLabels({});
}

Histogram& Metrics::GetHistogram(std::string name, std::string help, std::vector<double> upper_bounds) {
  return HistogramFamily(std::move(name), std::move(help), {}, std::move(upper_bounds)).WithLabels({});
}

std::string Metrics::Render() const {
  std::string out;
  std::lock_guard lock(mu_);
  for (const auto& [name, family] : families_) family->Render(out);
  return out;
}

}  // namespace common
