// What a command's proposer hears from applying it, as text for the tests' comparisons: "" when
// it took effect, else why it was skipped.
#pragma once

#include <string>

#include "worker/cluster/error.h"

namespace cluster {

inline std::string Heard(const Outcome& outcome) { return outcome ? "" : outcome.error().message; }

}  // namespace cluster
