#include "worker/raft/message.h"

namespace raft {

const char* MessageTypeName(MessageType t) {
  switch (t) {
    case MessageType::kPropose: return "Propose";
    case MessageType::kReadIndex: return "ReadIndex";
    case MessageType::kReadIndexResp: return "ReadIndexResp";
    case MessageType::kAppend: return "Append";
    case MessageType::kAppendResp: return "AppendResp";
    case MessageType::kHeartbeat: return "Heartbeat";
    case MessageType::kHeartbeatResp: return "HeartbeatResp";
    case MessageType::kSnapshot: return "Snapshot";
    case MessageType::kVote: return "Vote";
    case MessageType::kVoteResp: return "VoteResp";
    case MessageType::kPreVote: return "PreVote";
    case MessageType::kPreVoteResp: return "PreVoteResp";
    case MessageType::kTimeoutNow: return "TimeoutNow";
  }
  return "?";
}

bool IsResponse(MessageType t) {
  return t == MessageType::kAppendResp || t == MessageType::kHeartbeatResp ||
         t == MessageType::kVoteResp || t == MessageType::kPreVoteResp ||
         t == MessageType::kReadIndexResp;
}

std::uint64_t PayloadSize(const Entry& e) { return e.data.size(); }

// 24 bytes approximates term + index + type on the wire; it keeps empty entries from being "free"
// for the size limits.
std::uint64_t EntrySize(const Entry& e) { return e.data.size() + 24; }

}  // namespace raft
