#include "operator/members/raft_view.h"

#include <algorithm>

namespace stegocluster::members {

using Json = nlohmann::json;

std::optional<RaftView> ParseRaftStatus(const Json& body) {
  if (!body.is_object()) return std::nullopt;
  for (const char* k : {"term", "raft_id", "applied"}) {
    if (!body.contains(k) || !body[k].is_number_unsigned()) return std::nullopt;
  }
  if (!body.contains("role") || !body["role"].is_string()) return std::nullopt;
  RaftView view{body["role"], body["term"], body["raft_id"], body["applied"]};
  for (const Json& name : body.value("voters", Json::array())) {
    if (name.is_string()) view.voters.push_back(name);
  }
  for (const Json& name : body.value("learners", Json::array())) {
    if (name.is_string()) view.learners.push_back(name);
  }
  return view;
}

std::optional<Leadership> FindLeader(const std::vector<Member>& members) {
  std::uint64_t newest = 0;
  for (const Member& m : members) {
    if (m.view) newest = std::max(newest, m.view->term);
  }
  for (const Member& m : members) {
    // Raft allows one leader per term, so at most one member matches.
    if (m.view && m.view->role == "leader" && m.view->term == newest) return Leadership{m.pod, newest};
  }
  return std::nullopt;
}

std::vector<MemberStatus> MemberLines(const std::vector<Member>& members, const std::optional<Leadership>& leader) {
  const Member* lead = nullptr;
  for (const Member& m : members) {
    if (leader && m.pod == leader->pod) lead = &m;
  }
  std::vector<MemberStatus> lines;
  for (const Member& m : members) {
    MemberStatus line{.name = m.pod, .ready = m.ready};
    if (!m.view) {
      line.role = "Unknown";
    } else {
      line.raft_id = m.view->raft_id;
      line.applied_index = m.view->applied;
      const bool learner = lead && std::count(lead->view->learners.begin(), lead->view->learners.end(), m.pod) > 0;
      line.role = &m == lead ? "Leader" : learner ? "Learner" : "Follower";
      if (lead && lead->view->applied > m.view->applied) line.lag = lead->view->applied - m.view->applied;
    }
    lines.push_back(std::move(line));
  }
  return lines;
}

}  // namespace stegocluster::members
