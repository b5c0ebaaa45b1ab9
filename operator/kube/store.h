// Store: the informer's cache of one resource type, keyed "namespace/name" ("name" when
// cluster-scoped), with indexes by namespace and by owner UID (metadata.ownerReferences[].uid),
// the two look-ups a controller makes (its objects in a namespace; the children of an owner).
// It turns watch events and relists into the deltas the informer reports, so each change is
// reported once: an event or relist that carries a resourceVersion the store already holds is no
// change. Pure (no I/O) and thread-safe: the informer writes, controllers read.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "operator/kube/client.h"

namespace kube {

// "namespace/name", or "name" for an object without a namespace. "" when it has no name.
std::string ObjectKey(const Json& object);

struct Delta {
  enum class Kind { kAdded, kUpdated, kDeleted };
  Kind kind;
  Json old_object;  // kUpdated: the version before
  Json object;      // kDeleted: the last version known
};

class Store {
 public:
  // One watch event. nullopt: a bookmark, an object without a name, or a version already held.
  std::optional<Delta> Apply(const WatchEvent& event);
  // Replaces the contents with a fresh list: deltas for what appeared, changed or vanished (a
  // vanished object's delete was missed while the watch was down).
  std::vector<Delta> Replace(const std::vector<Json>& items);

  std::optional<Json> Get(const std::string& key) const;
  std::vector<Json> List() const;
  std::vector<Json> ByNamespace(const std::string& ns) const;
  std::vector<Json> ByOwner(const std::string& owner_uid) const;
  std::size_t Size() const;

 private:
  void Put(const std::string& key, Json object);
  void Remove(const std::string& key);
  std::vector<Json> Collect(const std::set<std::string>& keys) const;

  mutable std::shared_mutex mu_;
  std::map<std::string, Json> objects_;
  std::map<std::string, std::set<std::string>> by_namespace_;
  std::map<std::string, std::set<std::string>> by_owner_;
};

}  // namespace kube
