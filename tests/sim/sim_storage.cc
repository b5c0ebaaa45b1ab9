#include "tests/sim/sim_storage.h"

namespace raft::sim {

Result<void> SimStorage::apply(MemoryStorage& to, const Op& op) {
  return std::visit(
      [&](const auto& o) -> Result<void> {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, OpSnapshot>) {
          return to.apply_snapshot(o.s);
        } else if constexpr (std::is_same_v<T, OpAppend>) {
          return to.append(o.ents);
        } else if constexpr (std::is_same_v<T, OpHardState>) {
          to.set_hard_state(o.hs);
          return {};
        } else if constexpr (std::is_same_v<T, OpCreateSnapshot>) {
          return to.create_snapshot(o.i, o.cs, o.data);
        } else {
          return to.compact(o.i);
        }
      },
      op);
}

Result<void> SimStorage::write(Op op) {
  auto r = apply(*live_, op);
  if (!r) return r;
  journal_.push_back(std::move(op));
  return {};
}

Result<void> SimStorage::sync() {
  for (const Op& op : journal_) {
    auto r = apply(durable_, op);
    if (!r) return r;
  }
  journal_.clear();
  return {};
}

void SimStorage::crash() {
  journal_.clear();
  *live_ = durable_;
}

}  // namespace raft::sim
