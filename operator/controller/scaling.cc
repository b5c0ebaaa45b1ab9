#include "operator/controller/scaling.h"

#include <algorithm>

#include "operator/specs/specs.h"

namespace stegocluster::controller {
namespace {

using Action = MemberStep::Action;

bool Lists(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

const members::Member* Find(const std::vector<members::Member>& members, const std::string& pod) {
  for (const members::Member& m : members) {
    if (m.pod == pod) return &m;
  }
  return nullptr;
}

MemberStep Waiting(int replicas, std::string reason, std::string message) {
  return {.statefulset_replicas = replicas, .reason = std::move(reason), .message = std::move(message)};
}

MemberStep Grow(const std::string& cluster, int desired, int current, const std::vector<members::Member>& members,
               const members::Member* leader) {
  const std::string progress = std::to_string(current) + " of " + std::to_string(desired) + " members";
  if (static_cast<int>(members.size()) < current) return Waiting(current, "ScalingUp", progress + ": waiting for pods");
  for (const members::Member& m : members) {
    if (!m.ready) return Waiting(current, "ScalingUp", progress + ": waiting for " + m.pod + " to be ready");
  }
  if (!leader) return Waiting(current, "ScalingUp", progress + ": waiting for a leader");
  if (!leader->view->learners.empty()) {
    return Waiting(current, "ScalingUp", progress + ": waiting for " + leader->view->learners.front() + " to be promoted");
  }
  return Waiting(current + 1, "ScalingUp", progress + ": adding " + cluster + "-" + std::to_string(current));
}

// The ready voter among `stays` that has applied the most: the one a transfer makes leader soonest.
const members::Member* Successor(const std::vector<members::Member>& members, const std::vector<std::string>& stays) {
  const members::Member* best = nullptr;
  for (const std::string& name : stays) {
    const members::Member* m = Find(members, name);
    if (m && m->ready && m->view && (!best || m->view->applied > best->view->applied)) best = m;
  }
  return best;
}

MemberStep Shrink(const std::string& cluster, int desired, int current, const std::vector<members::Member>& members,
                 const members::Member* leader) {
  const std::string leaving = cluster + "-" + std::to_string(current - 1);
  const std::string progress = std::to_string(current) + " members, " + std::to_string(desired) + " wanted: ";
  if (!leader) return Waiting(current, "ScaleInBlocked", progress + "no leader is known; nothing is removed until one is");
  const members::RaftView& config = *leader->view;
  std::vector<std::string> stays;
  for (const std::string& v : config.voters) {
    if (v != leaving) stays.push_back(v);
  }
  const int quorum = specs::Quorum(static_cast<int>(stays.size()));
  const auto ready_stays = std::count_if(stays.begin(), stays.end(), [&](const std::string& name) {
    const members::Member* m = Find(members, name);
    return m && m->ready;
  });
  if (stays.empty() || ready_stays < quorum) {
    return Waiting(current, "ScaleInBlocked",
                   progress + std::to_string(ready_stays) + " of the " + std::to_string(stays.size()) +
                       " voters that stay are ready, a quorum is " + std::to_string(quorum));
  }
  if (Lists(config.voters, leaving) || Lists(config.learners, leaving)) {
    if (leader->pod == leaving) {
      const members::Member* next = Successor(members, stays);
      if (!next) return Waiting(current, "ScaleInBlocked", progress + "no ready voter to hand leadership to");
      return {.action = Action::kTransferLeadership, .statefulset_replicas = current, .member = leaving,
              .target = next->pod, .reason = "TransferringLeadership",
              .message = progress + leaving + " leads: handing over to " + next->pod + " before removing it"};
    }
    if (const members::Member* m = Find(members, leaving); m && m->ready) {
      return {.action = Action::kDrainMember, .statefulset_replicas = current, .member = leaving,
              .reason = "DrainingMember",
              .message = progress + "draining " + leaving + " out of the Services before removing it"};
    }
    return {.action = Action::kRemoveMember, .statefulset_replicas = current, .member = leaving,
            .target = leader->pod, .reason = "RemovingMember",
            .message = progress + "removing " + leaving + " from the Raft configuration"};
  }
  // Removed on the leader: shrink once a quorum of those that stay have applied it too.
  const auto without = std::count_if(stays.begin(), stays.end(), [&](const std::string& name) {
    const members::Member* m = Find(members, name);
    return m && m->view && !Lists(m->view->voters, leaving) && !Lists(m->view->learners, leaving);
  });
  if (without < quorum) {
    return Waiting(current, "RemovingMember", progress + "waiting for a quorum to apply the removal of " + leaving);
  }
  return Waiting(current - 1, "ScalingDown", progress + leaving + " removed from the Raft configuration; deleting its pod");
}

}  // namespace

MemberStep PlanScale(const std::string& cluster, int desired, std::optional<int> current,
                    const std::vector<members::Member>& members) {
  if (!current) return {.statefulset_replicas = desired};  // a new cluster: every pod at once
  const auto found = members::FindLeader(members);
  const members::Member* leader = found ? Find(members, found->pod) : nullptr;
  if (desired > *current) return Grow(cluster, desired, *current, members, leader);
  if (desired < *current) return Shrink(cluster, desired, *current, members, leader);
  return {.statefulset_replicas = *current};
}

}  // namespace stegocluster::controller
