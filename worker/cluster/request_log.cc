#include "worker/cluster/request_log.h"

#include <nlohmann/json.hpp>

namespace cluster {

using json = nlohmann::json;

std::optional<Outcome> RequestLog::Seen(const RequestKey& request) const {
  std::lock_guard lk(mu_);
  const auto it = entries_.find(request.key);
  if (it == entries_.end()) return std::nullopt;
  if (it->second.digest != request.digest) {
    return common::Fail(ErrorCode::kKeyReused, "the idempotency key was already used for a different request");
  }
  if (it->second.refused) return Refuse(*it->second.refused);
  return Outcome{};
}

void RequestLog::Record(const RequestKey& request, const Outcome& outcome, raft::Index index) {
  std::lock_guard lk(mu_);
  Insert(request.key, {request.digest, outcome ? std::nullopt : std::optional(outcome.error().message), index});
}

raft::Index RequestLog::FirstIndex(const RequestKey& request) const {
  std::lock_guard lk(mu_);
  const auto it = entries_.find(request.key);
  return it == entries_.end() || it->second.digest != request.digest ? 0 : it->second.index;
}

void RequestLog::Insert(std::string key, Entry entry) {
  if (!entries_.emplace(key, std::move(entry)).second) return;
  order_.push_back(std::move(key));
  while (order_.size() > kCapacity) {
    entries_.erase(order_.front());
    order_.pop_front();
  }
}

std::size_t RequestLog::size() const {
  std::lock_guard lk(mu_);
  return order_.size();
}

// [[key, digest, refused or null, first index], ...], oldest first, so that eviction goes on in the
// same order. Snapshots from before the index was kept have three fields.
std::string RequestLog::Snapshot() const {
  std::lock_guard lk(mu_);
  json out = json::array();
  for (const std::string& key : order_) {
    const Entry& e = entries_.at(key);
    out.push_back({key, e.digest, e.refused ? json(*e.refused) : json(nullptr), e.index});
  }
  return out.dump();
}

void RequestLog::Restore(std::string_view data) {
  std::lock_guard lk(mu_);
  entries_.clear();
  order_.clear();
  if (data.empty()) return;
  for (const json& e : json::parse(data)) {
    const json& refused = e.at(2);
    Insert(e.at(0).get<std::string>(),
           {e.at(1).get<std::string>(), refused.is_null() ? std::nullopt : std::optional(refused.get<std::string>()),
            e.size() > 3 ? e.at(3).get<raft::Index>() : 0});
  }
}

}  // namespace cluster
