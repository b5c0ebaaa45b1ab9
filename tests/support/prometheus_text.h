// A strict reader of the Prometheus text exposition format 0.0.4, for tests that check what a
// /metrics endpoint serves: every line well-formed, HELP/TYPE before a family's samples, each family
// contiguous and declared once, histogram buckets cumulative with le="+Inf" equal to _count.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace testsupport {

struct PromSample {
  std::string name;                          // full sample name, e.g. http_requests_total or x_bucket
  std::map<std::string, std::string> labels;  // unescaped values
  double value = 0;
};

struct PromText {
  std::map<std::string, std::string> types;  // family -> counter|gauge|histogram|summary|untyped
  std::map<std::string, std::string> help;   // family -> unescaped help
  std::vector<PromSample> samples;

  // The value of the sample with exactly this name and these labels (all of them), if present.
  std::optional<double> Value(std::string_view name, const std::map<std::string, std::string>& labels = {}) const;
  // Sum over samples of that name whose labels include `labels`.
  double Sum(std::string_view name, const std::map<std::string, std::string>& labels = {}) const;
};

// Parses and validates; on failure returns nullopt and sets *error to the offending line and why.
std::optional<PromText> ParsePromText(std::string_view text, std::string* error);

}  // namespace testsupport
