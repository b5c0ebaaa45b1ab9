// The cluster's errors: what the API hears when a replicated write, a fresh read or a membership
// change does not happen (common/error.h's shape). The codes keep the names of the Raft errors
// they come from, which clients see in the `code` of the JSON answer; kRefused is the state's own
// answer to a committed command it skipped.
#pragma once

#include <string_view>

#include "common/error.h"
#include "common/expected.h"
#include "worker/raft/types.h"

namespace cluster {

enum class ErrorCode {
  kRefused,             // committed, but skipped when applied (a key already gone, a full library)
  kKeyReused,           // committed, but skipped: its idempotency key was used for another request
  kNotLeader,           // the request needs the leader; the leader hint says where it is
  kNoLeader,            // no leader is known: an election is under way
  kTimeout,             // no outcome within the deadline: the command may still take effect
  kStopped,             // this member is stopping
  kLeaving,             // this member is leaving (drained, removed): the request belongs elsewhere
  kDropped,             // not accepted now (a leadership transfer, too many uncommitted entries)
  kChangePending,       // an earlier membership change is not committed yet
  kChangeTooEarly,      // a new leader has not committed an entry of its term yet
  kInvalidChange,       // the membership change does not apply to the configuration
  kLearnerNotCaughtUp,  // promotion refused: the learner is behind
  kInvalidTarget,       // leadership transfer to a member that is not a voter
  kTargetLagging,       // leadership transfer to a voter far behind or not answering
  kUnavailable,         // anything else the Raft node refused (named in the message)
  kCannotStart,         // start-up: identity, storage, peer port or discovery failed
};

using Error = common::Error<ErrorCode>;

// What applying a committed command answered: nothing, or why it was skipped (kRefused,
// kKeyReused).
using Outcome = common::Expected<void, Error>;

// The stable snake_case name ("no_leader"); the Raft names where the code comes from Raft.
std::string_view ErrorCodeName(ErrorCode code);

// The Raft node's error in the cluster's words.
Error FromRaft(const raft::Error& error);

inline common::Unexpected<Error> Refuse(std::string why) {
  return common::Fail(ErrorCode::kRefused, std::move(why));
}

inline common::Unexpected<Error> CannotStart(std::string why) {
  return common::Fail(ErrorCode::kCannotStart, std::move(why));
}

}  // namespace cluster
