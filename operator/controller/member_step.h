// MemberStep: what one reconcile pass does to the members, as the scaling, rollout and node-drain
// planners (scaling.h, rollout.h, node_drain.h) decide it from what the members say, and the reconciler carries out. One
// step per pass: its effect (a new leader, a pod not ready, a smaller configuration, a new pod)
// triggers the next pass, which plans the next step from the members as they are then.
#pragma once

#include <string>

namespace stegocluster::controller {

struct MemberStep {
  enum class Action {
    kNone,                // nothing to do now (converged, or waiting for the members)
    kTransferLeadership,  // ask `member` (the leader) to hand leadership to `target`
    kDrainMember,         // ask `member` to drain (unready, out of the Services; it serves on)
    kRemoveMember,        // ask the leader (`target`) to remove `member` from the Raft configuration
    kDeletePod,           // delete `member`'s pod (a rollout: the StatefulSet recreates it updated)
  };
  Action action = Action::kNone;
  int statefulset_replicas = 0;  // what the StatefulSet's spec.replicas must say after this pass
  std::string member{};
  std::string target{};
  // While scaling or rolling: the Progressing reason and message (ScalingUp, TransferringLeadership,
  // DrainingMember, RemovingMember, ScalingDown, RollingRestart, NodeDrain; ScaleInBlocked or
  // RolloutBlocked when refused). Empty when there is nothing to do.
  std::string reason{};
  std::string message{};
  bool blocked() const { return reason == "ScaleInBlocked" || reason == "RolloutBlocked"; }
};

}  // namespace stegocluster::controller
