#include "worker/cluster/error.h"

namespace cluster {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kRefused: return "refused";
    case ErrorCode::kKeyReused: return "idempotency_key_reused";
    case ErrorCode::kNotLeader: return "not_leader";
    case ErrorCode::kNoLeader: return "no_leader";
    case ErrorCode::kTimeout: return "timeout";
    case ErrorCode::kStopped: return "stopped";
    case ErrorCode::kLeaving: return "member_leaving";
    case ErrorCode::kDropped: return "proposal_dropped";
    case ErrorCode::kChangePending: return "conf_change_pending";
    case ErrorCode::kChangeTooEarly: return "conf_change_too_early";
    case ErrorCode::kInvalidChange: return "invalid_conf_change";
    case ErrorCode::kLearnerNotCaughtUp: return "learner_not_caught_up";
    case ErrorCode::kInvalidTarget: return "transfer_invalid";
    case ErrorCode::kTargetLagging: return "transfer_target_lagging";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kCannotStart: return "cannot_start";
  }
  return "unavailable";
}

Error FromRaft(const raft::Error& error) {
  using R = raft::ErrorCode;
  auto code = [&] {
    switch (error.code) {
      case R::kNotLeader: return ErrorCode::kNotLeader;
      case R::kNoLeader: return ErrorCode::kNoLeader;
      case R::kTimeout: return ErrorCode::kTimeout;
      case R::kStopped: return ErrorCode::kStopped;
      case R::kProposalDropped: return ErrorCode::kDropped;
      case R::kConfChangePending: return ErrorCode::kChangePending;
      case R::kConfChangeTooEarly: return ErrorCode::kChangeTooEarly;
      case R::kInvalidConfChange: return ErrorCode::kInvalidChange;
      case R::kLearnerNotCaughtUp: return ErrorCode::kLearnerNotCaughtUp;
      case R::kTransferInvalid: return ErrorCode::kInvalidTarget;
      default: return ErrorCode::kUnavailable;
    }
  }();
  const bool named = code != ErrorCode::kUnavailable;
  return {code, named ? error.message : std::string(raft::ErrorCodeName(error.code)) + ": " + error.message};
}

}  // namespace cluster
