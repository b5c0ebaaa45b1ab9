#include "operator/controller/roles.h"

#include "operator/specs/specs.h"

namespace stegocluster::controller {

std::vector<RoleChange> RoleChanges(const std::vector<nlohmann::json>& pods, const std::string& leader_pod) {
  std::vector<RoleChange> demotions, promotion;
  for (const auto& pod : pods) {
    const std::string name = pod["metadata"].value("name", "");
    const auto labels = pod["metadata"].value("labels", nlohmann::json::object());
    const std::string now = labels.value(specs::kRoleLabel, "");
    const std::string want = name == leader_pod ? "leader" : "follower";
    if (now == want || (leader_pod.empty() && !now.empty())) continue;
    (want == "leader" ? promotion : demotions).push_back({name, want});
  }
  promotion.insert(promotion.end(), demotions.begin(), demotions.end());
  return promotion;
}

}  // namespace stegocluster::controller
