// Rolling restarts: which member restarts next, and when. Pure, like scaling.h. A rollout starts
// whenever the StatefulSet's template changes (the spec changed; the StegoCluster's
// kubectl.kubernetes.io/restartedAt annotation, which the pod template carries as
// stegocluster.io/restartedAt; or `kubectl rollout restart statefulset/<name>`, whose own template
// annotation the operator leaves alone), because the StatefulSet is OnDelete: its controller
// recreates a pod from the new template only once the operator deletes it. A pod is outdated
// while its controller-revision-hash is not the StatefulSet's updateRevision.
//
// One pod at a time, in this order: members out of service (not ready: drained for their restart,
// or down anyway; like etcd-druid's "non-participating first"), members that do not vote
// (learners), then followers from the highest ordinal down, then the leader. A drained member
// still votes, and on a loaded cluster it can win an election before its pod is deleted: it then
// leads while out of the Services, so it goes first, handing leadership over as a leader does.
// For each:
//   - every other member is ready, caught up (at most kMaxLag entries behind the leader) and a
//     voter: the pod restarted before it is back in full;
//   - a quorum of the voters stays ready without it;
//   - the leader hands leadership to an updated, ready, caught-up follower first (the leader label
//     then moves with the members' views, before the old leader goes);
//   - it drains (unready: out of the client Service), and its pod is deleted once it shows not
//     ready and no longer carries the leader label.
// A missing precondition is waited for (RollingRestart) while the member concerned was just
// restarted; otherwise the rollout is stuck and says why (RolloutBlocked) instead of looping.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "operator/controller/member_step.h"
#include "operator/members/raft_view.h"

namespace stegocluster::controller {

// How far behind the leader (in applied entries) a member may be and still count as caught up.
inline constexpr std::uint64_t kMaxLag = 100;

struct RolloutInput {
  std::string update_revision{};                   // the StatefulSet's status.updateRevision
  int replicas = 0;                                // the StatefulSet's spec.replicas
  std::vector<members::Member> members{};          // every member pod, by ordinal, with its view
  std::map<std::string, std::string> revisions{};  // pod → its controller-revision-hash label
  std::string labelled_leader{};                   // the pod carrying the leader label, if any
};

MemberStep PlanRollout(const RolloutInput& in);

}  // namespace stegocluster::controller
