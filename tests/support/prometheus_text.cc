#include "tests/support/prometheus_text.h"

#include <cmath>
#include <cstdlib>
#include <set>

namespace testsupport {
namespace {

bool IsNameChar(char c, bool first, bool allow_colon) {
  const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (allow_colon && c == ':');
  return alpha || (!first && c >= '0' && c <= '9');
}

bool ParseName(std::string_view s, std::size_t& i, std::string& out, bool allow_colon) {
  const std::size_t start = i;
  while (i < s.size() && IsNameChar(s[i], i == start, allow_colon)) ++i;
  out = std::string(s.substr(start, i - start));
  return !out.empty();
}

bool ParseValue(std::string_view s, double& out) {
  if (s == "+Inf" || s == "Inf") {
    out = INFINITY;
    return true;
  }
  if (s == "-Inf") {
    out = -INFINITY;
    return true;
  }
  if (s == "NaN") {
    out = NAN;
    return true;
  }
  if (s.empty()) return false;
  const std::string copy(s);
  char* end = nullptr;
  out = std::strtod(copy.c_str(), &end);
  return end == copy.c_str() + copy.size();
}

// The family a sample name belongs to, given the declared types.
std::string FamilyOf(const std::string& name, const std::map<std::string, std::string>& types) {
  for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
    if (name.size() > suffix.size() && name.ends_with(suffix)) {
      const std::string base = name.substr(0, name.size() - suffix.size());
      auto it = types.find(base);
      if (it != types.end() && (it->second == "histogram" || it->second == "summary")) return base;
    }
  }
  return name;
}

}  // namespace

std::optional<double> PromText::Value(std::string_view name, const std::map<std::string, std::string>& labels) const {
  for (const PromSample& s : samples) {
    if (s.name == name && s.labels == labels) return s.value;
  }
  return std::nullopt;
}

double PromText::Sum(std::string_view name, const std::map<std::string, std::string>& labels) const {
  double sum = 0;
  for (const PromSample& s : samples) {
    if (s.name != name) continue;
    bool match = true;
    for (const auto& [k, v] : labels) {
      auto it = s.labels.find(k);
      match = match && it != s.labels.end() && it->second == v;
    }
    if (match) sum += s.value;
  }
  return sum;
}

std::optional<PromText> ParsePromText(std::string_view text, std::string* error) {
  PromText out;
  std::set<std::string> finished;  // families whose samples are over (each must be contiguous)
  std::string current;
  int line_no = 0;
  auto fail = [&](std::string_view line, const std::string& why) -> std::optional<PromText> {
    if (error) *error = "line " + std::to_string(line_no) + " '" + std::string(line) + "': " + why;
    return std::nullopt;
  };
  if (!text.empty() && text.back() != '\n') {
    if (error) *error = "the text must end with a newline";
    return std::nullopt;
  }
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    ++line_no;
    if (line.empty()) continue;
    if (line.front() == '#') {
      std::size_t i = 1;
      while (i < line.size() && line[i] == ' ') ++i;
      const std::string_view rest = line.substr(i);
      const bool is_help = rest.starts_with("HELP ");
      const bool is_type = rest.starts_with("TYPE ");
      if (!is_help && !is_type) continue;  // a plain comment
      std::size_t j = 5;
      std::string name;
      if (!ParseName(rest, j, name, true)) return fail(line, "bad metric name");
      if (name != current && finished.count(name)) return fail(line, "family " + name + " appears twice");
      if (name != current && !current.empty()) finished.insert(current);
      current = name;
      if (is_type) {
        if (j >= rest.size() || rest[j] != ' ') return fail(line, "TYPE without a type");
        const std::string type(rest.substr(j + 1));
        if (type != "counter" && type != "gauge" && type != "histogram" && type != "summary" && type != "untyped") {
          return fail(line, "unknown type " + type);
        }
        if (out.types.count(name)) return fail(line, "second TYPE for " + name);
        out.types[name] = type;
      } else {
        std::string help;
        const std::string_view raw = j < rest.size() ? rest.substr(j + 1) : std::string_view();
        for (std::size_t k = 0; k < raw.size(); ++k) {
          if (raw[k] == '\\' && k + 1 < raw.size()) {
            const char n = raw[++k];
            if (n == 'n') help += '\n';
            else if (n == '\\') help += '\\';
            else return fail(line, "bad escape in HELP");
          } else {
            help += raw[k];
          }
        }
        if (out.help.count(name)) return fail(line, "second HELP for " + name);
        out.help[name] = help;
      }
      continue;
    }
    PromSample s;
    std::size_t i = 0;
    if (!ParseName(line, i, s.name, true)) return fail(line, "bad sample name");
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (true) {
        if (i < line.size() && line[i] == '}') {
          ++i;
          break;
        }
        std::string label;
        if (!ParseName(line, i, label, false)) return fail(line, "bad label name");
        if (i + 1 >= line.size() || line[i] != '=' || line[i + 1] != '"') return fail(line, "expected =\" after label");
        i += 2;
        std::string value;
        bool closed = false;
        while (i < line.size()) {
          const char c = line[i++];
          if (c == '"') {
            closed = true;
            break;
          }
          if (c == '\\') {
            if (i >= line.size()) break;
            const char n = line[i++];
            if (n == 'n') value += '\n';
            else if (n == '\\') value += '\\';
            else if (n == '"') value += '"';
            else return fail(line, "bad escape in label value");
          } else {
            value += c;
          }
        }
        if (!closed) return fail(line, "unterminated label value");
        if (!s.labels.emplace(label, value).second) return fail(line, "duplicate label " + label);
        if (i < line.size() && line[i] == ',') ++i;
        else if (i >= line.size() || line[i] != '}') return fail(line, "expected , or } in labels");
      }
    }
    if (i >= line.size() || line[i] != ' ') return fail(line, "expected a space before the value");
    std::string_view rest = line.substr(i + 1);
    const std::size_t space = rest.find(' ');  // an optional timestamp may follow
    if (!ParseValue(rest.substr(0, space), s.value)) return fail(line, "bad value");
    const std::string family = FamilyOf(s.name, out.types);
    if (!out.types.count(family)) return fail(line, "sample before the TYPE of " + family);
    if (family != current) {
      if (finished.count(family)) return fail(line, "samples of " + family + " are not contiguous");
      if (!current.empty()) finished.insert(current);
      current = family;
    }
    const std::string& type = out.types[family];
    if ((type == "counter") && (s.value < 0 || std::isnan(s.value))) return fail(line, "negative counter");
    if (type == "histogram" && s.name == family) return fail(line, "histogram sample without _bucket/_sum/_count");
    if (s.name.ends_with("_bucket") && type == "histogram" && !s.labels.count("le")) return fail(line, "bucket without le");
    out.samples.push_back(std::move(s));
  }

  // Histograms: per label set, buckets cumulative in le order, +Inf present and equal to _count.
  for (const auto& [family, type] : out.types) {
    if (type != "histogram") continue;
    std::map<std::map<std::string, std::string>, std::vector<std::pair<double, double>>> buckets;
    for (const PromSample& s : out.samples) {
      if (s.name != family + "_bucket") continue;
      auto labels = s.labels;
      double le = 0;
      if (!ParseValue(labels["le"], le)) {
        if (error) *error = family + ": bad le " + labels["le"];
        return std::nullopt;
      }
      labels.erase("le");
      buckets[labels].emplace_back(le, s.value);
    }
    for (const auto& [labels, series] : buckets) {
      for (std::size_t k = 1; k < series.size(); ++k) {
        if (!(series[k].first > series[k - 1].first) || series[k].second < series[k - 1].second) {
          if (error) *error = family + ": buckets not increasing in le or not cumulative";
          return std::nullopt;
        }
      }
      const auto count = out.Value(family + "_count", labels);
      if (series.empty() || !std::isinf(series.back().first) || !count || *count != series.back().second ||
          !out.Value(family + "_sum", labels)) {
        if (error) *error = family + ": missing +Inf bucket, _sum or _count, or _count != +Inf bucket";
        return std::nullopt;
      }
    }
  }
  return out;
}

}  // namespace testsupport
