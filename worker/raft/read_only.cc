#include "worker/raft/read_only.h"

#include "worker/raft/quorum.h"

namespace raft {

std::uint64_t ReadOnly::add(Index index, NodeId from, std::string context) {
  queue_.push_back(Request{index, from, std::move(context), ++round_});
  return round_;
}

std::vector<ReadOnly::Request> ReadOnly::recv_ack(NodeId id, std::uint64_t round,
                                                  const std::vector<NodeId>& voters, NodeId self) {
  std::vector<Request> out;
  if (round == 0 || round > round_) return out;  // not one of our rounds
  std::uint64_t& a = acked_[id];
  if (round <= a) return out;  // stale or duplicate answer: nothing new
  a = round;
  if (queue_.empty()) return out;
  // The highest round a majority has answered, counting ourselves as answering every round.
  const std::uint64_t confirmed = MajorityCommitted(voters, [&](NodeId v) -> Index {
    if (v == self) return round_;
    auto it = acked_.find(v);
    return it == acked_.end() ? 0 : it->second;
  });
  while (!queue_.empty() && queue_.front().round <= confirmed) {
    out.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  return out;
}

void ReadOnly::reset() {
  round_ = 0;
  queue_.clear();
  acked_.clear();
}

}  // namespace raft
