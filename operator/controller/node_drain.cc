#include "operator/controller/node_drain.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "operator/controller/rollout.h"

namespace stegocluster::controller {
namespace {

bool Lists(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

bool NodeIsDraining(const nlohmann::json& node) {
  if (node.value("spec", nlohmann::json::object()).value("unschedulable", false)) return true;
  constexpr std::array<std::string_view, 3> kDrainTaints = {
      "node.kubernetes.io/unschedulable", "ToBeDeletedByClusterAutoscaler", "karpenter.sh/disrupted"};
  constexpr std::array<std::string_view, 2> kFailureTaints = {"node.kubernetes.io/not-ready",
                                                              "node.kubernetes.io/unreachable"};
  for (const auto& taint : node.value("spec", nlohmann::json::object()).value("taints", nlohmann::json::array())) {
    const std::string key = taint.value("key", "");
    if (std::find(kDrainTaints.begin(), kDrainTaints.end(), key) != kDrainTaints.end()) return true;
    if (taint.value("effect", "") == "NoExecute" &&
        std::find(kFailureTaints.begin(), kFailureTaints.end(), key) == kFailureTaints.end()) {
      return true;
    }
  }
  return false;
}

NodeDrainPlan PlanNodeDrain(const NodeDrainInput& in) {
  NodeDrainPlan plan{.step = {.statefulset_replicas = in.replicas}};
  const auto node_of = [&](const members::Member& m) {
    const auto it = in.nodes.find(m.pod);
    return it == in.nodes.end() ? std::string() : it->second;
  };
  const auto on_draining_node = [&](const members::Member& m) { return in.draining.contains(node_of(m)); };
  std::vector<std::string> leaving;
  for (const members::Member& m : in.members) {
    if (on_draining_node(m)) leaving.push_back(m.pod);
  }
  if (leaving.empty()) return plan;

  const auto found = members::FindLeader(in.members);
  const members::Member* leader = nullptr;
  for (const members::Member& m : in.members) {
    if (found && m.pod == found->pod) leader = &m;
  }
  if (leader && on_draining_node(*leader)) {
    const members::RaftView& config = *leader->view;
    const members::Member* target = nullptr;
    for (const members::Member& m : in.members) {
      if (&m == leader || !m.ready || !m.view || !Lists(config.voters, m.pod) || on_draining_node(m) ||
          node_of(m).empty() || config.applied > m.view->applied + kMaxLag) {
        continue;
      }
      if (!target || m.view->applied > target->view->applied) target = &m;
    }
    const std::string where = leader->pod + " leads on node " + node_of(*leader) + ", which is being drained";
    if (!target) {
      plan.blocked = where + ", and no ready, caught-up voter runs on another node to take over; it hands "
                             "leadership over itself when it is evicted";
      return plan;
    }
    plan.step = {.action = MemberStep::Action::kTransferLeadership, .statefulset_replicas = in.replicas,
                 .member = leader->pod, .target = target->pod, .reason = "NodeDrain",
                 .message = where + ": handing leadership to " + target->pod + " on node " + node_of(*target)};
    return plan;
  }
  if (in.disruptions_allowed == 0) {
    const auto ready = std::count_if(in.members.begin(), in.members.end(), [](const members::Member& m) { return m.ready; });
    plan.blocked = "members on a draining node (" + Join(leaving) +
                   ") wait for their eviction: the PodDisruptionBudget allows no disruption while " +
                   std::to_string(ready) + " of " + std::to_string(in.replicas) + " members are ready";
  }
  return plan;
}

}  // namespace stegocluster::controller
