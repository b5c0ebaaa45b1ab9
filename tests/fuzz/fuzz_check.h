// FUZZ_CHECK: an invariant of a fuzz target. A broken one prints what and where, then aborts, which
// libFuzzer reports as a crash (and saves the input) and the seed replay as a failed test.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace fuzz {

[[noreturn]] inline void InvariantBroken(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: fuzz invariant broken: %s\n", file, line, condition);
  std::abort();
}

}  // namespace fuzz

// A macro for the condition's text and the line; evaluated in every build (never compiled out).
#define FUZZ_CHECK(condition) \
  ((condition) ? static_cast<void>(0) : ::fuzz::InvariantBroken(#condition, __FILE__, __LINE__))
