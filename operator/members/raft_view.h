// What the members say of themselves (GET /raft/status on each pod) and what the operator concludes
// from it: who leads, and each member's line of status. Pure: the views come in, decisions go out;
// fetching them over HTTP is the caller's.
//
// Who leads: the member that says it is the leader in the highest term any member reports. A member
// that still believes it leads an older term (cut off, paused, about to step down) is not; nor is
// anyone while the newest term has no leader yet (an election is under way). So two pods are never
// named leader for one term, and a deposed leader loses the name as soon as any member has moved on.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "operator/api/stego_cluster.h"

namespace stegocluster::members {

struct RaftView {
  std::string role;       // leader, follower, candidate, pre-candidate (raft::RoleName)
  std::uint64_t term = 0;
  std::uint64_t raft_id = 0;
  std::uint64_t applied = 0;
  std::vector<std::string> voters{};    // the configuration as this member applied it (pod names)
  std::vector<std::string> learners{};  // members' names (pods) that are not voting yet
  bool operator==(const RaftView&) const = default;
};

// A member pod and, when it answered, its view.
struct Member {
  std::string pod;
  bool ready = false;
  std::optional<RaftView> view{};
};

// The view in a /raft/status answer, or nullopt when it is not one.
std::optional<RaftView> ParseRaftStatus(const nlohmann::json& body);

struct Leadership {
  std::string pod;  // the leader's pod
  std::uint64_t term = 0;
  bool operator==(const Leadership&) const = default;
};
// The leader as described above, or nullopt when there is none to name.
std::optional<Leadership> FindLeader(const std::vector<Member>& members);

// status.members: one line per pod, in the order given, with its role (Leader; Learner when the
// leader lists it so; Follower; Unknown when it did not answer) and how many entries it has applied
// fewer than the leader (0 while no leader is known).
std::vector<MemberStatus> MemberLines(const std::vector<Member>& members, const std::optional<Leadership>& leader);

}  // namespace stegocluster::members
