// The informer's cache: deltas from watch events and relists, and its indexes.
#include <gtest/gtest.h>

#include "operator/kube/store.h"

namespace {

using kube::Delta;
using kube::Json;
using kube::WatchEventType;

Json Object(const std::string& ns, const std::string& name, const std::string& rv, const std::string& owner = "") {
  Json o = {{"metadata", {{"name", name}, {"resourceVersion", rv}}}};
  if (!ns.empty()) o["metadata"]["namespace"] = ns;
  if (!owner.empty()) o["metadata"]["ownerReferences"] = {{{"uid", owner}, {"kind", "StegoCluster"}}};
  return o;
}

std::vector<std::string> Names(const std::vector<Json>& objects) {
  std::vector<std::string> out;
  for (const auto& o : objects) out.push_back(o["metadata"]["name"]);
  return out;
}

TEST(StoreTest, ObjectKeys) {
  EXPECT_EQ(kube::ObjectKey(Object("ns", "a", "1")), "ns/a");
  EXPECT_EQ(kube::ObjectKey(Object("", "node-1", "1")), "node-1");
  EXPECT_EQ(kube::ObjectKey(Json::object()), "");
  EXPECT_EQ(kube::ObjectKey(Json{{"metadata", "oops"}}), "");
}

TEST(StoreTest, WatchEventsBecomeDeltasOnce) {
  kube::Store store;
  auto added = store.Apply({WatchEventType::kAdded, Object("ns", "a", "1")});
  ASSERT_TRUE(added);
  EXPECT_EQ(added->kind, Delta::Kind::kAdded);
  // The same version again (a replayed event) is no change.
  EXPECT_FALSE(store.Apply({WatchEventType::kModified, Object("ns", "a", "1")}));
  EXPECT_FALSE(store.Apply({WatchEventType::kAdded, Object("ns", "a", "1")}));
  auto updated = store.Apply({WatchEventType::kModified, Object("ns", "a", "2")});
  ASSERT_TRUE(updated);
  EXPECT_EQ(updated->kind, Delta::Kind::kUpdated);
  EXPECT_EQ(updated->old_object["metadata"]["resourceVersion"], "1");
  EXPECT_EQ(updated->object["metadata"]["resourceVersion"], "2");
  EXPECT_FALSE(store.Apply({WatchEventType::kBookmark, Json{{"metadata", {{"resourceVersion", "9"}}}}}));
  EXPECT_FALSE(store.Apply({WatchEventType::kAdded, Json{{"metadata", {{"resourceVersion", "9"}}}}}));  // nameless
  auto deleted = store.Apply({WatchEventType::kDeleted, Object("ns", "a", "3")});
  ASSERT_TRUE(deleted);
  EXPECT_EQ(deleted->kind, Delta::Kind::kDeleted);
  EXPECT_FALSE(store.Apply({WatchEventType::kDeleted, Object("ns", "a", "3")}));  // already gone
  EXPECT_EQ(store.Size(), 0u);
  EXPECT_FALSE(store.Get("ns/a"));
}

TEST(StoreTest, ReplaceReportsExactlyWhatChanged) {
  kube::Store store;
  EXPECT_EQ(store.Replace({Object("ns", "keep", "1"), Object("ns", "change", "1"), Object("ns", "drop", "1")}).size(), 3u);
  const auto deltas = store.Replace({Object("ns", "keep", "1"), Object("ns", "change", "5"), Object("ns", "new", "6")});
  std::map<std::string, Delta::Kind> kinds;
  for (const auto& d : deltas) kinds[d.object["metadata"]["name"]] = d.kind;
  EXPECT_EQ(kinds, (std::map<std::string, Delta::Kind>{
                       {"change", Delta::Kind::kUpdated}, {"new", Delta::Kind::kAdded}, {"drop", Delta::Kind::kDeleted}}));
  EXPECT_EQ(Names(store.List()), (std::vector<std::string>{"change", "keep", "new"}));
  EXPECT_EQ((*store.Get("ns/change"))["metadata"]["resourceVersion"], "5");
  EXPECT_TRUE(store.Replace({Object("ns", "keep", "1"), Object("ns", "change", "5"), Object("ns", "new", "6")}).empty());
  EXPECT_EQ(store.Replace({}).size(), 3u);
  EXPECT_EQ(store.Size(), 0u);
}

TEST(StoreTest, IndexesFollowChanges) {
  kube::Store store;
  store.Replace({Object("a", "x", "1", "owner-1"), Object("a", "y", "1", "owner-2"), Object("b", "x", "1", "owner-1"),
                 Object("", "cluster-wide", "1")});
  EXPECT_EQ(Names(store.ByNamespace("a")), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(Names(store.ByNamespace("")), std::vector<std::string>{"cluster-wide"});
  EXPECT_EQ(store.ByOwner("owner-1").size(), 2u);
  // An object that changes owner moves between index entries.
  store.Apply({WatchEventType::kModified, Object("a", "x", "2", "owner-2")});
  EXPECT_EQ(Names(store.ByOwner("owner-1")), std::vector<std::string>{"x"});
  EXPECT_EQ((*store.ByOwner("owner-1").begin())["metadata"]["namespace"], "b");
  EXPECT_EQ(store.ByOwner("owner-2").size(), 2u);
  store.Apply({WatchEventType::kDeleted, Object("b", "x", "3", "owner-1")});
  EXPECT_TRUE(store.ByOwner("owner-1").empty());
  EXPECT_TRUE(store.ByNamespace("b").empty());
  EXPECT_TRUE(store.ByNamespace("nope").empty());
}

}  // namespace
