// Diagnostics for the core: an optional logger the caller installs, and the one way the core stops
// when it finds its own invariants broken.
#pragma once

#include <string>
#include <string_view>

namespace raft {

enum class LogLevel { kDebug, kInfo, kWarn };

// The core calls this synchronously from whatever thread drives it; keep it cheap.
class Logger {
 public:
  virtual ~Logger() = default;
  virtual void Log(LogLevel level, std::string_view line) = 0;
};

// An invariant of the core no longer holds (e.g. a peer asked to overwrite a committed entry, or a
// commit index beyond the end of the log). Continuing could violate safety, so the core never
// returns from this. The default handler prints `what` to stderr and aborts; a test harness may
// install one that throws instead, to report the failing run (it must not return either).
[[noreturn]] void Fatal(const std::string& what);

using FatalHandler = void (*)(const std::string& what);
FatalHandler SetFatalHandler(FatalHandler handler);  // returns the previous handler

}  // namespace raft
