// Majority counting over a voter set, for commitment and for elections.
//
// One membership change at a time (confchange.h) means we never need joint quorums: every decision
// is a simple majority of the voters in the configuration currently in effect.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "worker/raft/types.h"

namespace raft {

enum class VoteResult { kPending, kLost, kWon };

// The largest index that a majority of `voters` has acknowledged, where acked(id) is what voter id
// has durably matched. With no voters the answer is 0 (nothing can be committed).
Index MajorityCommitted(const std::vector<NodeId>& voters,
                        const std::function<Index(NodeId)>& acked);

// votes(id): +1 granted, -1 rejected, 0 not heard. Won once a majority granted; lost once a
// majority can no longer be reached.
VoteResult MajorityVote(const std::vector<NodeId>& voters, const std::function<int(NodeId)>& vote);

}  // namespace raft
