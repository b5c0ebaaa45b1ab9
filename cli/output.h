// What stegoctl prints and how it exits: exit codes a script can branch on, the text of a refusal,
// tables for people, and a progress bar for big transfers on a terminal.
#pragma once

#include <chrono>
#include <cstdint>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli/api_client.h"

namespace stegoctl {

enum ExitCode : int {
  kOk = 0,
  kFailure = 1,       // anything not below (a 5xx other than 503/504, a malformed answer)
  kUsage = 2,         // bad flags or arguments
  kRefused = 3,       // the request was invalid: 400, 409, 413, 415, and 422 other than below
  kNotFound = 4,      // 404
  kUnauthorised = 5,  // 401, 403: a key is missing, unknown or too weak
  kNoPayload = 6,     // the image hides nothing
  kPassword = 7,      // a password is needed, or it is wrong
  kDamaged = 8,       // a payload is there but damaged
  kUnavailable = 9,   // no server answered, or every one said 503/504/429
  kLocalFile = 10,    // a local file could not be read or written
};

ExitCode ExitCodeOf(const Response& response);

// A failure that ends the command: its message goes to stderr, its code is the exit status.
class CommandError : public std::runtime_error {
 public:
  CommandError(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ExitCode code() const { return code_; }

 private:
  ExitCode code_;
};

// Throws the CommandError that says why `response` is not a success ("what" names the action).
[[noreturn]] void ThrowRefusal(const std::string& what, const Response& response);
// `response` unless it failed (any status but 2xx): then ThrowRefusal.
Response Expect2xx(const std::string& what, Response response);

// Columns aligned on the widest cell, headers upper-case.
class Table {
 public:
  explicit Table(std::vector<std::string> headers) : rows_{std::move(headers)} {}
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void Print(std::ostream& out) const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

// A progress line on stderr ("upload  12.0 MiB / 40.0 MiB  30%"), redrawn at most 10 times a
// second; nothing unless stderr is a terminal and the transfer is big enough to wait for.
class ProgressBar {
 public:
  ProgressBar(bool enabled, std::uint64_t upload_bytes);
  ~ProgressBar();  // ends the line
  ProgressFn Callback();

 private:
  void Draw(bool uploading, std::uint64_t bytes);

  bool enabled_;
  std::uint64_t upload_bytes_;
  std::chrono::steady_clock::time_point last_draw_{};
  bool drawn_ = false;
};

std::string HumanBytes(std::uint64_t bytes);
bool StderrIsTerminal();

}  // namespace stegoctl
