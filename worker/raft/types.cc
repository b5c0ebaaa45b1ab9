#include "worker/raft/types.h"

#include <algorithm>

namespace raft {

bool ConfState::is_voter(NodeId id) const {
  return std::binary_search(voters.begin(), voters.end(), id);
}

bool ConfState::is_learner(NodeId id) const {
  return std::binary_search(learners.begin(), learners.end(), id);
}

const char* RoleName(Role r) {
  switch (r) {
    case Role::kFollower: return "follower";
    case Role::kPreCandidate: return "pre-candidate";
    case Role::kCandidate: return "candidate";
    case Role::kLeader: return "leader";
  }
  return "?";
}

const char* ErrorCodeName(ErrorCode c) {
  switch (c) {
    case ErrorCode::kNotLeader: return "not_leader";
    case ErrorCode::kNoLeader: return "no_leader";
    case ErrorCode::kProposalDropped: return "proposal_dropped";
    case ErrorCode::kConfChangePending: return "conf_change_pending";
    case ErrorCode::kConfChangeTooEarly: return "conf_change_too_early";
    case ErrorCode::kInvalidConfChange: return "invalid_conf_change";
    case ErrorCode::kLearnerNotCaughtUp: return "learner_not_caught_up";
    case ErrorCode::kTransferInvalid: return "transfer_invalid";
    case ErrorCode::kCompacted: return "compacted";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kSnapshotTemporarilyUnavailable: return "snapshot_temporarily_unavailable";
    case ErrorCode::kInvalidMessage: return "invalid_message";
    case ErrorCode::kCorruptState: return "corrupt_state";
    case ErrorCode::kInvalidConfig: return "invalid_config";
    case ErrorCode::kTimeout: return "timeout";
    case ErrorCode::kStopped: return "stopped";
  }
  return "?";
}

}  // namespace raft
