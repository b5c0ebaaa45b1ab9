#include "operator/controller/status.h"

#include <algorithm>

#include "operator/specs/specs.h"

namespace stegocluster::controller {
namespace {

struct Verdict {
  bool ok;
  std::string reason;
  std::string message;
};

Condition Make(const std::string& type, bool status, std::string reason, std::string message) {
  return {.type = type, .status = status ? "True" : "False", .reason = std::move(reason), .message = std::move(message)};
}

int CountReady(const std::vector<members::Member>& members) {
  return static_cast<int>(std::count_if(members.begin(), members.end(), [](const auto& m) { return m.ready; }));
}

std::uint64_t NewestTerm(const std::vector<members::Member>& members) {
  std::uint64_t term = 0;
  for (const auto& m : members) {
    if (m.view) term = std::max(term, m.view->term);
  }
  return term;
}

std::vector<std::string> NotReady(const std::vector<members::Member>& members) {
  std::vector<std::string> names;
  for (const auto& m : members) {
    if (!m.ready) names.push_back(m.pod);
  }
  return names;
}

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::int64_t StatefulSetField(const Observation& o, const char* field) {
  if (!o.statefulset) return 0;
  return o.statefulset->value("status", Json::object()).value(field, std::int64_t{0});
}

// Progressing: True while the operator still has something to wait for.
Condition Progressing(const Observation& o, const StegoClusterStatus& s, bool ever_led) {
  if (o.paused) return Make("Progressing", false, "Paused", "reconciling is paused (spec.paused or the annotation)");
  if (!o.blocker.reason.empty()) return Make("Progressing", false, o.blocker.reason, o.blocker.message);
  if (!ever_led) return Make("Progressing", true, "Creating", "the members are forming a Raft cluster");
  if (!o.step.reason.empty()) return Make("Progressing", !o.step.blocked(), o.step.reason, o.step.message);
  if (s.replicas < o.desired_replicas) {
    return Make("Progressing", true, "ScalingUp",
                std::to_string(s.replicas) + " of " + std::to_string(o.desired_replicas) + " members exist");
  }
  if (s.ready_replicas < o.desired_replicas || s.updated_replicas < o.desired_replicas) {
    return Make("Progressing", true, "WaitingForMembers",
                std::to_string(s.ready_replicas) + " of " + std::to_string(o.desired_replicas) + " members ready, " +
                    std::to_string(s.updated_replicas) + " updated");
  }
  return Make("Progressing", false, "Converged", "every member exists, is ready and runs the current template");
}

Condition Degraded(const Observation& o, const StegoClusterStatus& s) {
  if (!o.blocker.reason.empty()) return Make("Degraded", true, o.blocker.reason, o.blocker.message);
  if (s.replicas == o.desired_replicas && s.ready_replicas < s.replicas) {
    return Make("Degraded", true, "MembersNotReady", "not ready: " + Join(NotReady(o.members)));
  }
  if (o.desired_replicas % 2 == 0) {
    return Make("Degraded", true, "EvenReplicas",
                std::to_string(o.desired_replicas) + " members survive no more failures than " +
                    std::to_string(o.desired_replicas - 1) + " would; an odd size is advised");
  }
  return Make("Degraded", false, "AsExpected", "nothing is wrong");
}

// Keeps the previous lastTransitionTime while a condition's status stays the same.
void Stamp(Condition& c, const StegoClusterStatus& previous, std::int64_t generation, kube::WallTime now) {
  c.observed_generation = generation;
  const Condition* before = FindCondition(previous, c.type);
  c.last_transition_time =
      before && before->status == c.status ? before->last_transition_time : kube::FormatTime(now);
}

}  // namespace

const Condition* FindCondition(const StegoClusterStatus& status, const std::string& type) {
  auto it = std::find_if(status.conditions.begin(), status.conditions.end(),
                         [&](const Condition& c) { return c.type == type; });
  return it == status.conditions.end() ? nullptr : &*it;
}

StegoClusterStatus BuildStatus(const Observation& o, const StegoClusterStatus& previous, kube::WallTime now) {
  StegoClusterStatus s;
  s.observed_generation = o.generation;
  s.replicas = static_cast<int>(o.members.size());
  s.ready_replicas = CountReady(o.members);
  s.updated_replicas = static_cast<int>(StatefulSetField(o, "updatedReplicas"));
  s.selector = o.selector;
  const auto leader = members::FindLeader(o.members);
  s.members = members::MemberLines(o.members, leader);
  s.term = std::max(NewestTerm(o.members), previous.term);
  s.leader = leader ? leader->pod : "";
  if (o.step.action == MemberStep::Action::kTransferLeadership) s.target_leader = o.step.target;
  s.last_leader_transition_time = previous.last_leader_transition_time;
  if (leader && leader->pod != previous.leader) s.last_leader_transition_time = kube::FormatTime(now);

  const bool ever_led = leader || !previous.last_leader_transition_time.empty();
  const int quorum = specs::Quorum(o.desired_replicas);
  Condition elected = leader ? Make("LeaderElected", true, "LeaderElected",
                                    leader->pod + " leads term " + std::to_string(leader->term))
                             : Make("LeaderElected", false, "NoLeader",
                                    s.term ? "no member leads term " + std::to_string(s.term) : "no member answers yet");
  // Fewer ready members than a quorum is QuorumLost whether or not a leader is left (a leader cut
  // off from the majority steps down): nothing but the members' return brings the cluster back,
  // and no scale-in or restart runs until then (their planners need a ready quorum).
  Condition available =
      ever_led && s.ready_replicas < quorum
          ? Make("Available", false, "QuorumLost",
                 std::to_string(s.ready_replicas) + " members ready, a quorum is " + std::to_string(quorum) +
                     "; no member is removed or restarted until a quorum is back")
      : !leader ? Make("Available", false, "NoLeader", elected.message)
          : Make("Available", true, "QuorumReady",
                 std::to_string(s.ready_replicas) + " of " + std::to_string(o.desired_replicas) +
                     " members ready, " + leader->pod + " leads");
  Condition progressing = Progressing(o, s, ever_led);
  Condition degraded = Degraded(o, s);
  Condition ready = Make("Ready", true, "Ready", available.message);
  if (o.paused) {
    ready = Make("Ready", false, "Paused", progressing.message);
  } else if (available.status != "True") {
    ready = Make("Ready", false, available.reason, available.message);
  } else if (degraded.status == "True" && degraded.reason != "EvenReplicas") {
    ready = Make("Ready", false, degraded.reason, degraded.message);
  } else if (progressing.reason != "Converged") {
    ready = Make("Ready", false, progressing.reason, progressing.message);
  }
  s.conditions = {std::move(ready), std::move(available), std::move(progressing), std::move(degraded),
                  std::move(elected)};
  for (Condition& c : s.conditions) Stamp(c, previous, o.generation, now);
  return s;
}

}  // namespace stegocluster::controller
