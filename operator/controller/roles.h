// The leader label: which member pods must change their stegocluster.io/role label so that exactly
// the leader carries "leader" and every other member "follower". Pure.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace stegocluster::controller {

struct RoleChange {
  std::string pod;
  std::string role;  // "leader" or "follower"
};

// The changes for `pods` (Pod objects) when `leader_pod` leads, the promotion first: applied in
// order (make before break), the leader Service never selects no pod, which an Ingress would
// answer with 404; while both carry "leader", the old leader, a follower now, forwards what it
// gets. With no leader known ("": an election, or the operator has only just started probing) the
// labels stay as they are, so routing never flaps on an operator restart; only pods without the
// label get "follower".
std::vector<RoleChange> RoleChanges(const std::vector<nlohmann::json>& pods, const std::string& leader_pod);

}  // namespace stegocluster::controller
