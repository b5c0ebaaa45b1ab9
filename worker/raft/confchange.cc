#include "worker/raft/confchange.h"

#include <algorithm>
#include <cstring>
#include <string>

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

void PutU32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void PutU64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

class Reader {
 public:
  explicit Reader(std::string_view d) : d_(d) {}
  bool u8(std::uint8_t& v) {
    if (d_.size() < 1) return false;
    v = static_cast<std::uint8_t>(d_[0]);
    d_.remove_prefix(1);
    return true;
  }
  bool u32(std::uint32_t& v) {
    if (d_.size() < 4) return false;
    v = 0;
    for (int i = 0; i < 4; ++i) v |= std::uint32_t{static_cast<std::uint8_t>(d_[i])} << (8 * i);
    d_.remove_prefix(4);
    return true;
  }
  bool u64(std::uint64_t& v) {
    if (d_.size() < 8) return false;
    v = 0;
    for (int i = 0; i < 8; ++i) v |= std::uint64_t{static_cast<std::uint8_t>(d_[i])} << (8 * i);
    d_.remove_prefix(8);
    return true;
  }
  bool bytes(std::size_t n, std::string& out) {
    if (d_.size() < n) return false;
    out.assign(d_.data(), n);
    d_.remove_prefix(n);
    return true;
  }
  bool ids(std::vector<NodeId>& out) {
    std::uint32_t n = 0;
    if (!u32(n) || d_.size() / 8 < n) return false;
    out.resize(n);
    for (auto& id : out) {
      if (!u64(id)) return false;
    }
    return true;
  }
  bool done() const { return d_.empty(); }

 private:
  std::string_view d_;
};

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
  out.push_back(static_cast<char>(kMagic));
  out.push_back(static_cast<char>(kVersion));
  out.push_back(static_cast<char>(ce.change.type));
  PutU64(out, ce.change.node);
  PutU32(out, static_cast<std::uint32_t>(ce.change.context.size()));
  out += ce.change.context;
  PutU32(out, static_cast<std::uint32_t>(ce.next.voters.size()));
  for (NodeId id : ce.next.voters) PutU64(out, id);
  PutU32(out, static_cast<std::uint32_t>(ce.next.learners.size()));
  for (NodeId id : ce.next.learners) PutU64(out, id);
  return out;
}

Result<ConfEntry> DecodeConfEntry(std::string_view data) {
  Reader r(data);
  std::uint8_t magic = 0, version = 0, type = 0;
  std::uint32_t ctx_len = 0;
  ConfEntry ce;
  if (!r.u8(magic) || magic != kMagic || !r.u8(version) || version != kVersion || !r.u8(type) ||
      type > static_cast<std::uint8_t>(ConfChange::Type::kBootstrap) || !r.u64(ce.change.node) ||
      !r.u32(ctx_len) || !r.bytes(ctx_len, ce.change.context) || !r.ids(ce.next.voters) ||
      !r.ids(ce.next.learners) || !r.done()) {
    return Fail(ErrorCode::kCorruptState, "malformed configuration entry (" +
                                              std::to_string(data.size()) + " bytes)");
  }
  ce.change.type = static_cast<ConfChange::Type>(type);
  if (!IsValidConfState(ce.next)) {
    return Fail(ErrorCode::kCorruptState, "configuration entry with an invalid member list");
  }
  return ce;
}

Entry BootstrapConfEntry(const ConfState& initial) {
  ConfEntry ce;
  ce.change.type = ConfChange::Type::kBootstrap;
  ce.change.node = initial.voters.empty() ? kNone : initial.voters.front();
  ce.next = initial;
  return Entry{1, 1, EntryType::kConfChange, EncodeConfEntry(ce)};
}

}  // namespace raft
