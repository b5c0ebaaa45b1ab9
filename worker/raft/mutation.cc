#include "worker/raft/mutation.h"

#include <cstring>

namespace raft::mutation {

namespace {
struct NameOf {
  Kind kind;
  const char* name;
};
constexpr NameOf kNames[] = {
    {Kind::kNone, "none"},
    {Kind::kVoteWithoutLogCheck, "vote_without_log_check"},
    {Kind::kVoteTwice, "vote_twice"},
    {Kind::kCommitEarlierTerm, "commit_earlier_term"},
    {Kind::kAppendWithoutPrevCheck, "append_without_prev_check"},
    {Kind::kAcceptStaleTerm, "accept_stale_term"},
    {Kind::kReadIndexWithoutQuorum, "read_index_without_quorum"},
    {Kind::kConfChangeWithoutWait, "conf_change_without_wait"},
};

#ifdef STEGO_RAFT_MUTATIONS
Kind g_current = Kind::kNone;  // set once by the simulator before a run
#endif
}  // namespace

const char* Name(Kind k) {
  for (const auto& n : kNames) {
    if (n.kind == k) return n.name;
  }
  return "?";
}

bool Parse(const char* name, Kind* out) {
  for (const auto& n : kNames) {
    if (std::strcmp(n.name, name) == 0) {
      *out = n.kind;
      return true;
    }
  }
  return false;
}

#ifdef STEGO_RAFT_MUTATIONS
Kind Current() { return g_current; }
void Set(Kind k) { g_current = k; }
#endif

}  // namespace raft::mutation
