// Only in raft_unit_tests_mutable: selects a broken core variant from $RAFT_MUTATION before the
// tests run, to show that the unit tests notice it (see docs/raft.md).
#include <cstdio>
#include <cstdlib>

#include "worker/raft/mutation.h"

namespace {

struct SelectFromEnv {
  SelectFromEnv() {
    const char* name = std::getenv("RAFT_MUTATION");
    if (!name) return;
    raft::mutation::Kind k;
    if (!raft::mutation::Parse(name, &k)) {
      std::fprintf(stderr, "unknown RAFT_MUTATION '%s'\n", name);
      std::exit(2);
    }
    raft::mutation::Set(k);
    std::fprintf(stderr, "core mutation: %s\n", name);
  }
} select_from_env;

}  // namespace
