// Scaling: what one reconcile pass does about the number of members. Pure (what was observed comes
// in, one step goes out), so every rule is unit-tested without a server; the reconciler carries the
// step out and the next pass, triggered by its effect, plans the next one. `spec.replicas` is the
// only source of the desired size: the operator never writes the spec, and a member that is
// merely missing for a while (a pod being recreated) never shrinks the cluster.
//
// Out, one member at a time: the StatefulSet grows by one pod once every member is ready and a
// voter; the newcomer joins as a learner and its leader promotes it once caught up (worker/cluster).
// (A new cluster starts with every pod at once: ordinal 0 bootstraps and the others join it.)
//
// In, one member at a time, the highest ordinal first (by the number, never by sorting names):
//   1. If it leads, leadership goes to the ready, most caught-up voter among those that stay.
//   2. It drains (POST /admin/drain): unready, so the Services stop sending it requests, which a
//      member outside the configuration could no longer commit; it serves what still arrives.
//   3. Once its pod shows not ready, the leader removes it from the Raft configuration.
//   4. Once a quorum of the voters that stay report a configuration without it, the StatefulSet
//      shrinks by one; its PVC goes with its pod (a removed member's log is of no use: should its
//      ordinal come back, it joins under a new identity with a new volume).
// Each step is safe to repeat after an operator crash at any point: each is planned from what the
// members say now (a transfer already done is not repeated; a removal already applied is
// confirmed; a StatefulSet already shrunk is simply the new current size).
// Refused (ScaleInBlocked) while no leader is known, or while the voters that stay would not keep
// a ready quorum: no step then is safe, and the reason is reported instead.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "operator/controller/member_step.h"
#include "operator/members/raft_view.h"

namespace stegocluster::controller {

// `desired`: spec.replicas; `current`: the StatefulSet's spec.replicas (nullopt before it exists);
// `cluster`: the StatefulSet's name, whose pods are <cluster>-<ordinal>; `members`: every member
// pod with its view, as observed this pass.
MemberStep PlanScale(const std::string& cluster, int desired, std::optional<int> current,
                     const std::vector<members::Member>& members);

}  // namespace stegocluster::controller
