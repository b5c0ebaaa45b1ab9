// Node drains: which member must move, and what to say when a drain cannot go on. Pure, like
// scaling.h and rollout.h.
//
// A node that is cordoned or tainted for removal is about to lose its pods: `kubectl drain`, the
// cluster autoscaler and Karpenter evict them through the eviction API, which the cluster's
// PodDisruptionBudget guards (it lets go only what leaves a quorum of ready voters; a learner is
// not ready). The operator does not evict anything itself. What it adds:
//   - When the leader runs on a draining node, it hands leadership to the most caught-up ready
//     voter on a node that stays, before an eviction reaches the leader. (The leader's own preStop
//     hook would hand over at its eviction too; moving first keeps that off the clients' path, and
//     keeps the new leader off the draining node.)
//   - When the drain cannot go on, it says why (a DrainBlocked event): no member on another node
//     can take over the leadership, or the PodDisruptionBudget allows no disruption now while
//     members still run on a draining node.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "operator/controller/member_step.h"
#include "operator/members/raft_view.h"

namespace stegocluster::controller {

struct NodeDrainInput {
  int replicas = 0;                              // the StatefulSet's spec.replicas
  std::vector<members::Member> members{};        // every member pod, by ordinal, with its view
  std::map<std::string, std::string> nodes{};    // pod → the node it runs on
  std::set<std::string> draining{};              // nodes being drained (NodeIsDraining)
  std::optional<int> disruptions_allowed{};      // the PDB's status.disruptionsAllowed, if any
};

struct NodeDrainPlan {
  MemberStep step{};      // a leadership transfer (reason NodeDrain), or nothing to do
  std::string blocked{};  // why the drain cannot go on now (a DrainBlocked event); "" when it can
};

NodeDrainPlan PlanNodeDrain(const NodeDrainInput& in);

// Whether a Node (as the API serves it) is being drained: cordoned (spec.unschedulable), tainted
// node.kubernetes.io/unschedulable, ToBeDeletedByClusterAutoscaler (the cluster autoscaler) or
// karpenter.sh/disrupted (Karpenter), or carrying any NoExecute taint other than the node
// lifecycle controller's not-ready and unreachable ones (a failure, not a drain).
bool NodeIsDraining(const nlohmann::json& node);

}  // namespace stegocluster::controller
