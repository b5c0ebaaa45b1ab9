#include "operator/controller/drift.h"

namespace stegocluster::controller {

bool Covers(const nlohmann::json& live, const nlohmann::json& desired) {
  if (desired.is_object()) {
    if (!live.is_object()) return false;
    for (const auto& [key, value] : desired.items()) {
      auto it = live.find(key);
      if (it == live.end() || !Covers(*it, value)) return false;
    }
    return true;
  }
  if (desired.is_array()) {
    if (!live.is_array() || live.size() != desired.size()) return false;
    for (std::size_t i = 0; i < desired.size(); ++i) {
      if (!Covers(live[i], desired[i])) return false;
    }
    return true;
  }
  return live == desired;
}

}  // namespace stegocluster::controller
