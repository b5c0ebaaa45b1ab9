#include "operator/kube/store.h"

#include <mutex>

namespace kube {
namespace {

const Json& Meta(const Json& object) {
  static const Json kEmpty = Json::object();
  const auto it = object.find("metadata");
  return it != object.end() && it->is_object() ? *it : kEmpty;
}

std::string ResourceVersion(const Json& object) { return Meta(object).value("resourceVersion", ""); }

std::vector<std::string> OwnerUids(const Json& object) {
  std::vector<std::string> uids;
  const auto it = Meta(object).find("ownerReferences");
  if (it == Meta(object).end() || !it->is_array()) return uids;
  for (const auto& ref : *it) {
    if (ref.is_object() && ref.contains("uid")) uids.push_back(ref.value("uid", ""));
  }
  return uids;
}

}  // namespace

std::string ObjectKey(const Json& object) {
  const Json& meta = Meta(object);
  const std::string name = meta.value("name", "");
  if (name.empty()) return "";
  const std::string ns = meta.value("namespace", "");
  return ns.empty() ? name : ns + "/" + name;
}

void Store::Put(const std::string& key, Json object) {
  Remove(key);
  by_namespace_[Meta(object).value("namespace", "")].insert(key);
  for (const auto& uid : OwnerUids(object)) by_owner_[uid].insert(key);
  objects_[key] = std::move(object);
}

void Store::Remove(const std::string& key) {
  const auto it = objects_.find(key);
  if (it == objects_.end()) return;
  const auto drop = [&key](std::map<std::string, std::set<std::string>>& index, const std::string& value) {
    const auto entry = index.find(value);
    if (entry == index.end()) return;
    entry->second.erase(key);
    if (entry->second.empty()) index.erase(entry);
  };
  drop(by_namespace_, Meta(it->second).value("namespace", ""));
  for (const auto& uid : OwnerUids(it->second)) drop(by_owner_, uid);
  objects_.erase(it);
}

std::optional<Delta> Store::Apply(const WatchEvent& event) {
  if (event.type == WatchEventType::kBookmark) return std::nullopt;
  const std::string key = ObjectKey(event.object);
  if (key.empty()) return std::nullopt;
  std::unique_lock lock(mu_);
  const auto it = objects_.find(key);
  if (event.type == WatchEventType::kDeleted) {
    if (it == objects_.end()) return std::nullopt;
    Delta delta{Delta::Kind::kDeleted, {}, event.object};
    Remove(key);
    return delta;
  }
  if (it == objects_.end()) {
    Put(key, event.object);
    return Delta{Delta::Kind::kAdded, {}, event.object};
  }
  if (ResourceVersion(it->second) == ResourceVersion(event.object)) return std::nullopt;
  Delta delta{Delta::Kind::kUpdated, it->second, event.object};
  Put(key, event.object);
  return delta;
}

std::vector<Delta> Store::Replace(const std::vector<Json>& items) {
  std::unique_lock lock(mu_);
  std::vector<Delta> deltas;
  std::set<std::string> fresh;
  for (const auto& item : items) {
    const std::string key = ObjectKey(item);
    if (key.empty()) continue;
    fresh.insert(key);
    const auto it = objects_.find(key);
    if (it == objects_.end()) {
      deltas.push_back({Delta::Kind::kAdded, {}, item});
    } else if (ResourceVersion(it->second) != ResourceVersion(item)) {
      deltas.push_back({Delta::Kind::kUpdated, it->second, item});
    } else {
      continue;
    }
    Put(key, item);
  }
  std::vector<std::string> gone;
  for (const auto& [key, object] : objects_) {
    if (!fresh.count(key)) gone.push_back(key);
  }
  for (const auto& key : gone) {
    deltas.push_back({Delta::Kind::kDeleted, {}, objects_[key]});
    Remove(key);
  }
  return deltas;
}

std::optional<Json> Store::Get(const std::string& key) const {
  std::shared_lock lock(mu_);
  const auto it = objects_.find(key);
  return it == objects_.end() ? std::nullopt : std::optional<Json>(it->second);
}

std::vector<Json> Store::Collect(const std::set<std::string>& keys) const {
  std::vector<Json> out;
  for (const auto& key : keys) out.push_back(objects_.at(key));
  return out;
}

std::vector<Json> Store::List() const {
  std::shared_lock lock(mu_);
  std::vector<Json> out;
  for (const auto& [key, object] : objects_) out.push_back(object);
  return out;
}

std::vector<Json> Store::ByNamespace(const std::string& ns) const {
  std::shared_lock lock(mu_);
  const auto it = by_namespace_.find(ns);
  return it == by_namespace_.end() ? std::vector<Json>() : Collect(it->second);
}

std::vector<Json> Store::ByOwner(const std::string& owner_uid) const {
  std::shared_lock lock(mu_);
  const auto it = by_owner_.find(owner_uid);
  return it == by_owner_.end() ? std::vector<Json>() : Collect(it->second);
}

std::size_t Store::Size() const {
  std::shared_lock lock(mu_);
  return objects_.size();
}

}  // namespace kube
