// What the reconciler saw of one cluster, and the status it reports about it. Pure (the clock comes
// in), so every condition and reason is unit-tested without a server.
//
// Conditions (metav1.Condition, each with the generation it describes) and their reasons:
//   LeaderElected  True  LeaderElected      a member leads the newest term any member reports
//                  False NoLeader           an election is under way, or no member answers
//   Available      True  QuorumReady        a leader, and at least a quorum of members ready
//                  False QuorumLost         fewer members ready than a quorum (a Warning event)
//                  False NoLeader           an election is under way
//   Progressing    True  Creating           no leader has been seen yet
//                  True  ScalingUp | TransferringLeadership | RemovingMember | ScalingDown
//                                           (controller/scaling.h) | WaitingForMembers
//                  False Converged          every member is there, ready and updated
//                  False Paused | InvalidSpec | AuthSecretMissing | ApplyFailed | RelabelFailed
//                  True  RollingRestart     restarting outdated members one at a time (rollout.h)
//                  True  NodeDrain          the leader hands over before its node is drained
//                                           (node_drain.h)
//                  False ScaleInBlocked     a scale-in waits for a leader or a ready quorum
//                  False RolloutBlocked     a restart waits for what only a person can fix
//   Degraded       True  InvalidSpec | AuthSecretMissing | ApplyFailed | RelabelFailed (blocked)
//                  True  MembersNotReady    all members exist but some are not ready
//                  True  EvenReplicas       an even size: no more fault-tolerant than one fewer
//                                           (reported only; it does not make Ready False)
//                  False AsExpected
//   Ready          True  Ready              Available, Converged and not Degraded
//                  False the reason of the first of those that fails (Paused when paused)
// `kubectl wait --for=condition=Ready stegocluster/<name>` waits for the roll-up.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "operator/api/stego_cluster.h"
#include "operator/controller/member_step.h"
#include "operator/kube/conventions.h"
#include "operator/members/raft_view.h"

namespace stegocluster::controller {

// Why the operator cannot do its job for this cluster (empty reason: nothing blocks it).
struct Blocker {
  std::string reason;  // InvalidSpec, AuthSecretMissing, ApplyFailed, RelabelFailed
  std::string message;
};

struct Observation {
  std::int64_t generation = 0;   // metadata.generation
  int desired_replicas = 0;      // spec.replicas
  std::string selector{};        // the member pods' label selector
  std::optional<Json> statefulset{};  // as the informer last saw it
  std::vector<members::Member> members{};  // every member pod, by ordinal, with its Raft view
  bool paused = false;
  Blocker blocker{};
  MemberStep step{};  // this pass's step: scaling or rollout (member_step.h)
};

StegoClusterStatus BuildStatus(const Observation& o, const StegoClusterStatus& previous, kube::WallTime now);

// A condition of `status` by type, or nullptr.
const Condition* FindCondition(const StegoClusterStatus& status, const std::string& type);

}  // namespace stegocluster::controller
