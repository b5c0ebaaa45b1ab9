#include "cli/output.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <set>
#include <sstream>

namespace stegoctl {

ExitCode ExitCodeOf(const Response& response) {
  const int s = response.status;
  if (s >= 200 && s < 300) return kOk;
  if (s == 0 || s == 503 || s == 504 || s == 429) return kUnavailable;
  if (s == 401 || s == 403) return kUnauthorised;
  if (s == 404) return kNotFound;
  if (s == 422) {
    static const std::set<std::string> damaged = {"bad_magic", "unsupported_version", "truncated_payload",
                                                  "crc_mismatch", "corrupt_payload"};
    const nlohmann::json body = response.Json();
    const std::string code = body.is_object() ? body.value("code", "") : "";
    if (code == "no_payload") return kNoPayload;
    if (code == "password_required" || code == "wrong_password") return kPassword;
    if (damaged.count(code)) return kDamaged;
    return kRefused;
  }
  if (s >= 400 && s < 500) return kRefused;
  return kFailure;
}

void ThrowRefusal(const std::string& what, const Response& response) {
  if (response.status == 0) {
    throw CommandError(kUnavailable, what + ": no server answered (" + std::to_string(response.tries) +
                                         " tries, the last at " + response.server + ": " + response.error + ")");
  }
  std::string message = what + ": " + std::to_string(response.status);
  const nlohmann::json body = response.Json();
  if (body.is_object() && body.contains("error")) {
    message += " " + body.value("error", "") + " (" + body.value("code", "") + ")";
    if (const std::string detail = body.value("detail", ""); !detail.empty()) message += ": " + detail;
  } else if (!response.body.empty()) {
    message += " " + response.body.substr(0, 200);
  }
  throw CommandError(ExitCodeOf(response), message + " [" + response.server + "]");
}

Response Expect2xx(const std::string& what, Response response) {
  if (ExitCodeOf(response) != kOk) ThrowRefusal(what, response);
  return response;
}

void Table::Print(std::ostream& out) const {
  std::vector<std::size_t> widths;
  for (const auto& row : rows_) {
    widths.resize(std::max(widths.size(), row.size()), 0);
    for (std::size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  }
  for (std::size_t r = 0; r < rows_.size(); ++r) {
    std::string line;
    for (std::size_t c = 0; c < rows_[r].size(); ++c) {
      std::string cell = rows_[r][c];
      if (r == 0) std::transform(cell.begin(), cell.end(), cell.begin(), ::toupper);
      line += cell;
      if (c + 1 < rows_[r].size()) line += std::string(widths[c] - cell.size() + 2, ' ');
    }
    out << line << "\n";
  }
}

std::string HumanBytes(std::uint64_t bytes) {
  std::ostringstream out;
  if (bytes < 1024) {
    out << bytes << " B";
  } else {
    const char* units[] = {"KiB", "MiB", "GiB"};
    double value = static_cast<double>(bytes) / 1024;
    int unit = 0;
    while (value >= 1024 && unit < 2) value /= 1024, ++unit;
    out << std::fixed << std::setprecision(1) << value << " " << units[unit];
  }
  return out.str();
}

bool StderrIsTerminal() { return ::isatty(STDERR_FILENO) == 1; }

// Below a mebibyte a transfer is over before a bar would help.
constexpr std::uint64_t kWorthABar = 1 << 20;

ProgressBar::ProgressBar(bool enabled, std::uint64_t upload_bytes)
    : enabled_(enabled && StderrIsTerminal()), upload_bytes_(upload_bytes) {}

ProgressBar::~ProgressBar() {
  if (drawn_) std::cerr << "\n";
}

ProgressFn ProgressBar::Callback() {
  if (!enabled_) return nullptr;
  return [this](bool uploading, std::uint64_t bytes) { Draw(uploading, bytes); };
}

void ProgressBar::Draw(bool uploading, std::uint64_t bytes) {
  if (uploading ? upload_bytes_ < kWorthABar : bytes < kWorthABar) return;
  const auto now = std::chrono::steady_clock::now();
  const bool done = uploading && bytes >= upload_bytes_;
  if (!done && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  std::ostringstream line;
  line << "\r" << (uploading ? "upload   " : "download ") << HumanBytes(bytes);
  if (uploading) line << " / " << HumanBytes(upload_bytes_) << "  " << bytes * 100 / std::max<std::uint64_t>(upload_bytes_, 1) << "%";
  std::cerr << line.str() << "\033[K" << std::flush;
  drawn_ = true;
}

}  // namespace stegoctl
