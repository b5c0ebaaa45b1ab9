#include "worker/raft/logger.h"

#include <cstdio>
#include <cstdlib>

namespace raft {
namespace {

void DefaultFatal(const std::string& what) {
  std::fprintf(stderr, "raft: fatal: %s\n", what.c_str());
  std::abort();
}

FatalHandler g_fatal = &DefaultFatal;

}  // namespace

void Fatal(const std::string& what) {
  g_fatal(what);
  std::abort();  // a handler that returns is itself a bug
}

FatalHandler SetFatalHandler(FatalHandler handler) {
  FatalHandler prev = g_fatal;
  g_fatal = handler ? handler : &DefaultFatal;
  return prev;
}

}  // namespace raft
