// Deliberately broken variants of the core, for the simulator's mutation check ONLY.
//
// A simulator that cannot fail proves nothing: each switch below disables one safety rule, and
// docs/raft.md records that the simulator catches every one. The switches exist only when the core
// is compiled with STEGO_RAFT_MUTATIONS (the test-only library stego_raft_mutable); in the
// production library `Active()` is a constant false and the branches vanish.
#pragma once

namespace raft::mutation {

enum class Kind {
  kNone,
  kVoteWithoutLogCheck,    // grant votes without the §5.4.1 up-to-date check
  kVoteTwice,              // grant a second vote in the same term
  kCommitEarlierTerm,      // commit by counting replicas of an entry of an earlier term (§5.4.2)
  kAppendWithoutPrevCheck, // follower accepts AppendEntries without the prevLogIndex/Term match
  kAcceptStaleTerm,        // follower accepts AppendEntries from a leader of an older term
  kReadIndexWithoutQuorum, // leader answers read-index without confirming leadership (§6.4)
  kConfChangeWithoutWait,  // allow a second configuration change while one is uncommitted
};

const char* Name(Kind k);
bool Parse(const char* name, Kind* out);

#ifdef STEGO_RAFT_MUTATIONS
Kind Current();
void Set(Kind k);
inline bool Active(Kind k) { return Current() == k; }
#else
constexpr bool Active(Kind) { return false; }
#endif

}  // namespace raft::mutation
