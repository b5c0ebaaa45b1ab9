#include "worker/raft/confchange.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "worker/raft/wire.h"

namespace raft {
namespace {

void InsertSorted(std::vector<NodeId>& v, NodeId id) {
  v.insert(std::lower_bound(v.begin(), v.end(), id), id);
}

void EraseSorted(std::vector<NodeId>& v, NodeId id) {
  auto it = std::lower_bound(v.begin(), v.end(), id);
  if (it != v.end() && *it == id) v.erase(it);
}

bool SortedUniqueNonZero(const std::vector<NodeId>& v) {
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] == kNone) return false;
    if (i > 0 && v[i - 1] >= v[i]) return false;
  }
  return true;
}

// Wire format of a kConfChange entry, version 1, little-endian:
//   u8 magic 'C' | u8 version 1 | u8 change type | u64 node | u32 len + context bytes
//   | u32 n + n*u64 voters | u32 m + m*u64 learners
constexpr std::uint8_t kMagic = 'C';
constexpr std::uint8_t kVersion = 1;

}  // namespace

bool IsValidConfState(const ConfState& cs) {
  if (!SortedUniqueNonZero(cs.voters) || !SortedUniqueNonZero(cs.learners)) return false;
  for (NodeId id : cs.learners) {
    if (cs.is_voter(id)) return false;
  }
  return true;
}

Result<ConfState> NextConfState(const ConfState& current, const ConfChange& cc) {
  const std::string who = "node " + std::to_string(cc.node);
  if (cc.node == kNone) return Fail(ErrorCode::kInvalidConfChange, "node id 0 is reserved");
  ConfState next = current;
  switch (cc.type) {
    case ConfChange::Type::kAddLearner:
      if (current.contains(cc.node)) {
        return Fail(ErrorCode::kInvalidConfChange, who + " is already a member");
      }
      InsertSorted(next.learners, cc.node);
      break;
    case ConfChange::Type::kPromote:
      if (!current.is_learner(cc.node)) {
        return Fail(ErrorCode::kInvalidConfChange, who + " is not a learner");
      }
      EraseSorted(next.learners, cc.node);
      InsertSorted(next.voters, cc.node);
      break;
    case ConfChange::Type::kRemove:
      if (!current.contains(cc.node)) {
        return Fail(ErrorCode::kInvalidConfChange, who + " is not a member");
      }
      if (current.is_voter(cc.node) && current.voters.size() == 1) {
        return Fail(ErrorCode::kInvalidConfChange, who + " is the last voter");
      }
      EraseSorted(next.voters, cc.node);
      EraseSorted(next.learners, cc.node);
      break;
    case ConfChange::Type::kBootstrap:
      if (!current.voters.empty() || !current.learners.empty()) {
        return Fail(ErrorCode::kInvalidConfChange, "bootstrap on a non-empty configuration");
      }
      next.voters = {cc.node};
      break;
    default:
      return Fail(ErrorCode::kInvalidConfChange, "unknown change type");
  }
  return next;
}

std::string EncodeConfEntry(const ConfEntry& ce) {
  std::string out;
  wire::PutFixed(out, kMagic, 1);
  wire::PutFixed(out, kVersion, 1);
  wire::PutFixed(out, static_cast<std::uint8_t>(ce.change.type), 1);
  wire::PutFixed(out, ce.change.node, 8);
  wire::PutBytes(out, ce.change.context);
  wire::PutIds(out, ce.next.voters);
  wire::PutIds(out, ce.next.learners);
  return out;
}

Result<ConfEntry> DecodeConfEntry(std::string_view data) {
  wire::Reader r(data);
  ConfEntry ce;
  const auto magic = r.Fixed(1);
  const auto version = r.Fixed(1);
  const auto type = r.Fixed(1);
  ce.change.node = r.Fixed(8);
  ce.change.context = std::string(r.Bytes());
  ce.next.voters = r.Ids();
  ce.next.learners = r.Ids();
  if (!r.done() || magic != kMagic || version != kVersion ||
      type > static_cast<std::uint8_t>(ConfChange::Type::kBootstrap)) {
    return Fail(ErrorCode::kCorruptState, "malformed configuration entry (" +
                                              std::to_string(data.size()) + " bytes)");
  }
  ce.change.type = static_cast<ConfChange::Type>(type);
  if (!IsValidConfState(ce.next)) {
    return Fail(ErrorCode::kCorruptState, "configuration entry with an invalid member list");
  }
  return ce;
}

Entry BootstrapConfEntry(const ConfState& initial, std::string context) {
  ConfEntry ce;
  ce.change.context = std::move(context);
  ce.change.type = ConfChange::Type::kBootstrap;
  ce.change.node = initial.voters.empty() ? kNone : initial.voters.front();
  ce.next = initial;
  return Entry{1, 1, EntryType::kConfChange, EncodeConfEntry(ce)};
}

}  // namespace raft
