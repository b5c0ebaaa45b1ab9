// The messages Raft peers exchange. One struct for all types (as in etcd's raftpb.Message): the
// fields used by each type are listed next to the enum, and unused fields stay zero.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "worker/raft/types.h"

namespace raft {

enum class MessageType : std::uint8_t {
  // Client requests a follower forwards to its leader.
  kPropose,          // entries: the proposed entries (term/index unset)
  kReadIndex,        // context: the caller's read id
  kReadIndexResp,    // index: commit index to wait for; context: the read id
  // Replication (Figure 2 AppendEntries, split into data-carrying and heartbeat forms).
  kAppend,           // index/log_term: entry preceding `entries`; entries; commit: leader commit
  kAppendResp,       // index: last matching index (accept) or the rejected `index` (reject);
                     // reject, reject_hint/log_term: follower's guess of the last matching entry
  kHeartbeat,        // commit: min(leader commit, follower match); index: read-index round
  kHeartbeatResp,    // index: the round echoed (read_only.h)
  kSnapshot,         // snapshot: the full snapshot (the transport may chunk it on the wire)
  // Elections (Figure 2 RequestVote, with the pre-vote phase of dissertation §9.6).
  kVote,             // term: candidate's term; index/log_term: candidate's last entry;
                     // leader_transfer: ignore the leader lease (sent after TimeoutNow)
  kVoteResp,         // reject
  kPreVote,          // term: the term the candidate *would* use (ours + 1); index/log_term as kVote
  kPreVoteResp,      // term: echoes the request's term when granted; reject
  kTimeoutNow,       // leadership transfer (§3.10): "start an election now"
};
const char* MessageTypeName(MessageType t);

struct Message {
  MessageType type = MessageType::kAppend;
  NodeId from = kNone;
  NodeId to = kNone;
  Term term = 0;        // sender's term (0 only for kPropose/kReadIndex forwarding "local" terms)
  Term log_term = 0;
  Index index = 0;
  Index commit = 0;
  std::vector<Entry> entries;
  // Shared so that a snapshot fanned out to several peers (or duplicated by a test network) is not
  // copied; never mutated after creation.
  std::shared_ptr<const Snapshot> snapshot;
  bool reject = false;
  Index reject_hint = 0;
  bool leader_transfer = false;
  std::string context;
};

// True for types answering a request (they never trigger further elections on their own).
bool IsResponse(MessageType t);

// Byte size of entry payloads, used for batching and flow-control limits.
std::uint64_t PayloadSize(const Entry& e);
std::uint64_t EntrySize(const Entry& e);  // payload + a fixed per-entry overhead

}  // namespace raft
