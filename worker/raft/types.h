// Vocabulary of the Raft core: ids, log entries, durable state, configurations, errors.
//
// Everything here is a plain value type. The core copies these freely; the only large payloads
// (entry data, snapshot data) are strings the caller hands in and gets back.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/expected.h"

namespace raft {

using NodeId = std::uint64_t;  // 0 is "nobody" (kNone); real ids are > 0
using Term = std::uint64_t;    // 0 only before the first election (and for index 0)
using Index = std::uint64_t;   // log positions start at 1; index 0 is the empty prefix

inline constexpr NodeId kNone = 0;

enum class EntryType : std::uint8_t {
  kNormal = 0,      // client payload (empty data = the leader's no-op at the start of its term)
  kConfChange = 1,  // data = EncodeConfEntry(...): a membership change and the resulting ConfState
};

struct Entry {
  Term term = 0;
  Index index = 0;
  EntryType type = EntryType::kNormal;
  std::string data;

  bool operator==(const Entry&) const = default;
};

// The state that must survive a crash before this node answers anyone (Figure 2: "persistent state
// on all servers", plus the commit index so a restart does not have to rediscover it).
struct HardState {
  Term term = 0;
  NodeId vote = kNone;  // candidate voted for in `term`; kNone if none
  Index commit = 0;     // highest index known committed; never decreases

  bool operator==(const HardState&) const = default;
  bool empty() const { return term == 0 && vote == kNone && commit == 0; }
};

// A membership configuration. Invariant: both lists sorted ascending, no duplicates, disjoint.
// Only voters count towards quorums (elections and commitment); learners just replicate.
struct ConfState {
  std::vector<NodeId> voters;
  std::vector<NodeId> learners;

  bool operator==(const ConfState&) const = default;
  bool is_voter(NodeId id) const;
  bool is_learner(NodeId id) const;
  bool contains(NodeId id) const { return is_voter(id) || is_learner(id); }
};

struct SnapshotMeta {
  Index index = 0;  // last log index the snapshot covers
  Term term = 0;    // term of that entry
  ConfState conf;   // configuration in effect at `index` (latest config entry <= index)

  bool operator==(const SnapshotMeta&) const = default;
};

struct Snapshot {
  SnapshotMeta meta;
  std::string data;  // the application's state at meta.index; opaque to the core

  bool empty() const { return meta.index == 0; }
};

// One membership change at a time (Raft dissertation §4.1): the voter set changes by at most one
// server per committed configuration entry, so any two consecutive majorities overlap.
struct ConfChange {
  enum class Type : std::uint8_t {
    kAddLearner = 0,  // a new server joins as a non-voting learner
    kPromote = 1,     // a caught-up learner becomes a voter
    kRemove = 2,      // a voter or learner leaves (may be the leader itself)
    kBootstrap = 3,   // only in the first entry of a new cluster (see Bootstrap())
  };
  Type type = Type::kAddLearner;
  NodeId node = kNone;
  std::string context;  // opaque to the core; e.g. the server's peer address for the application

  bool operator==(const ConfChange&) const = default;
};

// What a committed kConfChange entry says: the change and the full configuration that results from
// it. Carrying the full result means a follower never has to re-derive it from a delta.
struct ConfEntry {
  ConfChange change;
  ConfState next;
};

// Linearizable read-index answer (dissertation §6.4): once the local applied index reaches `index`,
// a read that was issued with `context` may be served from the local state machine.
struct ReadState {
  Index index = 0;
  std::string context;
};

enum class Role : std::uint8_t { kFollower, kPreCandidate, kCandidate, kLeader };
const char* RoleName(Role r);

enum class ErrorCode : std::uint8_t {
  kNotLeader,            // the operation needs the leader; see Error::message / Status::leader
  kNoLeader,             // no known leader to forward to
  kProposalDropped,      // e.g. leadership transfer in progress, or uncommitted limit reached
  kConfChangePending,    // an earlier configuration entry is not yet committed
  kConfChangeTooEarly,   // leader has not yet committed an entry of its own term (§4.1 fix)
  kInvalidConfChange,    // the change does not apply to the current configuration
  kLearnerNotCaughtUp,   // promotion refused: learner behind the commit index
  kTransferInvalid,      // transfer target is not a voter of the configuration
  kCompacted,            // storage: index below the first available (covered by a snapshot)
  kUnavailable,          // storage: index above the last available
  kSnapshotTemporarilyUnavailable,  // storage: snapshot being produced; retry later
  kInvalidMessage,       // a message that must never arrive from a peer (malformed / local type)
  kCorruptState,         // durable state contradicts itself; the node must not start
  kInvalidConfig,        // Config fails validation
  kTimeout,              // node: no outcome within the deadline (the write may still commit)
  kStopped,              // node: shut down before the request completed
};
const char* ErrorCodeName(ErrorCode c);

// What failed and why, for every fallible call at the core's boundary (common/error.h).
using Error = common::Error<ErrorCode>;

template <class T>
using Result = common::Expected<T, Error>;

inline common::Unexpected<Error> Fail(ErrorCode code, std::string message) {
  return common::Fail(code, std::move(message));
}

}  // namespace raft
