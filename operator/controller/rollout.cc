#include "operator/controller/rollout.h"

#include <algorithm>

#include "operator/specs/specs.h"

namespace stegocluster::controller {
namespace {

using Action = MemberStep::Action;

MemberStep Say(int replicas, std::string reason, std::string message) {
  return {.statefulset_replicas = replicas, .reason = std::move(reason), .message = std::move(message)};
}

bool Lists(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

MemberStep PlanRollout(const RolloutInput& in) {
  const auto outdated = [&](const members::Member& m) {
    const auto it = in.revisions.find(m.pod);
    return it == in.revisions.end() || it->second != in.update_revision;
  };
  const auto stale = std::count_if(in.members.begin(), in.members.end(), outdated);
  if (in.update_revision.empty() || stale == 0) return {.statefulset_replicas = in.replicas};
  const std::string progress = std::to_string(in.members.size() - stale) + " of " + std::to_string(in.replicas) +
                               " members updated: ";
  const auto found = members::FindLeader(in.members);
  if (!found) return Say(in.replicas, "RolloutBlocked", progress + "no leader is known; no member restarts until one is");
  const members::Member* leader = nullptr;
  for (const members::Member& m : in.members) {
    if (m.pod == found->pod) leader = &m;
  }
  const members::RaftView& config = *leader->view;

  // Next: a stale member out of service, else a stale learner, else the stale follower of the
  // highest ordinal, else the leader (each by the highest ordinal where several qualify).
  const members::Member* next = nullptr;
  for (auto it = in.members.rbegin(); !next && it != in.members.rend(); ++it) {
    if (outdated(*it) && !it->ready) next = &*it;
  }
  for (auto it = in.members.rbegin(); !next && it != in.members.rend(); ++it) {
    if (outdated(*it) && Lists(config.learners, it->pod)) next = &*it;
  }
  for (auto it = in.members.rbegin(); !next && it != in.members.rend(); ++it) {
    if (outdated(*it) && it->pod != leader->pod) next = &*it;
  }
  if (!next) next = leader;

  // Everyone else back in full.
  if (static_cast<int>(in.members.size()) < in.replicas) {
    return Say(in.replicas, "RollingRestart", progress + "waiting for the restarted pod to be recreated");
  }
  for (const members::Member& m : in.members) {
    if (&m == next) continue;
    std::string missing;
    if (!m.ready || !m.view) {
      missing = " to be ready";
    } else if (!Lists(config.voters, m.pod)) {
      missing = " to be a voter again";
    } else if (leader->view->applied > m.view->applied + kMaxLag) {
      missing = " to catch up";
    }
    if (missing.empty()) continue;
    if (outdated(m)) return Say(in.replicas, "RolloutBlocked", progress + m.pod + " is not ready or not caught up");
    return Say(in.replicas, "RollingRestart", progress + "waiting for " + m.pod + missing);
  }
  const auto voters_ready_without = std::count_if(in.members.begin(), in.members.end(), [&](const members::Member& m) {
    return &m != next && m.ready && Lists(config.voters, m.pod);
  });
  const int quorum = specs::Quorum(static_cast<int>(config.voters.size()));
  if (voters_ready_without < quorum) {
    return Say(in.replicas, "RolloutBlocked",
               progress + "without " + next->pod + " only " + std::to_string(voters_ready_without) +
                   " voters would be ready, a quorum is " + std::to_string(quorum));
  }

  if (next == leader) {
    // The successor: an updated voter if there is one (it will not restart soon), the most caught up.
    const members::Member* target = nullptr;
    const auto rank = [&](const members::Member& m) { return std::make_pair(!outdated(m), m.view->applied); };
    for (const members::Member& m : in.members) {
      if (&m == leader || !m.ready || !m.view || !Lists(config.voters, m.pod)) continue;
      if (!target || rank(m) > rank(*target)) target = &m;
    }
    if (!target) return Say(in.replicas, "RolloutBlocked", progress + "no ready voter to hand leadership to");
    return {.action = Action::kTransferLeadership, .statefulset_replicas = in.replicas, .member = leader->pod,
            .target = target->pod, .reason = "RollingRestart",
            .message = progress + "handing leadership from " + leader->pod + " to " + target->pod +
                       " before restarting " + leader->pod};
  }
  if (next->ready) {
    return {.action = Action::kDrainMember, .statefulset_replicas = in.replicas, .member = next->pod,
            .reason = "RollingRestart", .message = progress + "draining " + next->pod + " before restarting it"};
  }
  if (in.labelled_leader == next->pod) {
    return Say(in.replicas, "RollingRestart", progress + "waiting for the leader label to leave " + next->pod);
  }
  return {.action = Action::kDeletePod, .statefulset_replicas = in.replicas, .member = next->pod,
          .reason = "RollingRestart", .message = progress + "restarting " + next->pod};
}

}  // namespace stegocluster::controller
