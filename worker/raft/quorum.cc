#include "worker/raft/quorum.h"

#include <algorithm>

namespace raft {

Index MajorityCommitted(const std::vector<NodeId>& voters,
                        const std::function<Index(NodeId)>& acked) {
  const std::size_t n = voters.size();
  if (n == 0) return 0;
  std::vector<Index> idx;
  idx.reserve(n);
  for (NodeId id : voters) idx.push_back(acked(id));
  std::sort(idx.begin(), idx.end());
  // Sorted ascending; the entry at n - (n/2 + 1) is acknowledged by itself and every voter after
  // it: n/2 + 1 voters, a majority.
  return idx[n - (n / 2 + 1)];
}

VoteResult MajorityVote(const std::vector<NodeId>& voters, const std::function<int(NodeId)>& vote) {
  const std::size_t n = voters.size();
  if (n == 0) return VoteResult::kLost;  // no voters: nobody can be elected
  std::size_t granted = 0, missing = 0;
  for (NodeId id : voters) {
    const int v = vote(id);
    if (v > 0) {
      ++granted;
    } else if (v == 0) {
      ++missing;
    }
  }
  const std::size_t q = n / 2 + 1;
  if (granted >= q) return VoteResult::kWon;
  if (granted + missing >= q) return VoteResult::kPending;
  return VoteResult::kLost;
}

}  // namespace raft
