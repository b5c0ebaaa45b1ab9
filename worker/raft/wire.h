// Little-endian, fixed-width field encoding shared by every byte format of the Raft layer: the
// configuration entry, the RocksDB records and the peer message codec.
//
// Fixed widths rather than varints: the formats stay trivially auditable and the few bytes saved
// do not matter next to entry payloads. A Reader never reads past its input; any overrun latches
// ok() to false and yields zeros/empties, so a decoder checks ok() (or done()) once at the end.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "worker/raft/types.h"

namespace raft::wire {

inline void PutFixed(std::string& out, std::uint64_t v, int bytes) {
  for (int b = 0; b < bytes; ++b) out.push_back(static_cast<char>(v >> (8 * b)));
}

// u32 length, then the bytes. Callers bound sizes below 4 GiB (entries, contexts, snapshots).
inline void PutBytes(std::string& out, std::string_view bytes) {
  PutFixed(out, bytes.size(), 4);
  out.append(bytes);
}

// u32 count, then one u64 per id.
inline void PutIds(std::string& out, const std::vector<NodeId>& ids) {
  PutFixed(out, ids.size(), 4);
  for (NodeId id : ids) PutFixed(out, id, 8);
}

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  std::uint64_t Fixed(int bytes) {
    const auto n = static_cast<std::size_t>(bytes);
    if (!ok_ || in_.size() < n) return Overrun(), 0;
    std::uint64_t v = 0;
    for (std::size_t b = n; b-- > 0;) v = (v << 8) | static_cast<std::uint8_t>(in_[b]);
    in_.remove_prefix(n);
    return v;
  }

  // A PutBytes field. The view points into the input.
  std::string_view Bytes() {
    const auto n = Fixed(4);
    if (!ok_ || in_.size() < n) return Overrun(), std::string_view{};
    const std::string_view v = in_.substr(0, n);
    in_.remove_prefix(n);
    return v;
  }

  // A PutIds field. The count is checked against the bytes left before anything is allocated,
  // so a forged count cannot make the reader reserve memory it has no input for.
  std::vector<NodeId> Ids() {
    const auto n = Fixed(4);
    if (!ok_ || in_.size() / 8 < n) return Overrun(), std::vector<NodeId>{};
    std::vector<NodeId> ids(n);
    for (auto& id : ids) id = Fixed(8);
    return ids;
  }

  std::string_view Rest() {
    const std::string_view r = in_;
    in_ = {};
    return r;
  }

  std::size_t remaining() const { return in_.size(); }
  bool ok() const { return ok_; }
  bool done() const { return ok_ && in_.empty(); }

 private:
  void Overrun() {
    ok_ = false;
    in_ = {};
  }

  std::string_view in_;
  bool ok_ = true;
};

}  // namespace raft::wire
