// Watch and informer against a real kube-apiserver: resumption after the server's timeout and
// after a cut connection (through a TcpRelay), 410 Gone after etcd compaction, and an informer
// that relists after Gone without losing or repeating state.
//
// PodTemplates are used for the compaction cases: the control plane for these tests runs with
// --watch-cache-sizes=podtemplates#0, so their watches are served by etcd itself. (The apiserver's
// watch cache keeps its own history and answers old versions from it, compaction or not.)
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <thread>

#include "operator/kube/informer.h"
#include "operator/kube/watch.h"
#include "tests/k8s/client/k8s_test_env.h"

namespace {

using kube::Json;
namespace res = kube::resources;

constexpr char kSuite[] = "watch-test";
// The suite's namespace (set up by the fixture before any test runs).
const std::string& kNs = k8stest::NamespacedTest<kSuite>::ns();
const kube::GroupVersionResource kPodTemplates{"", "v1", "podtemplates"};

Json ConfigMap(const std::string& name, const std::string& value) {
  return {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", name}}}, {"data", {{"v", value}}}};
}

Json PodTemplate(const std::string& name, const std::string& image) {
  return {{"apiVersion", "v1"},
          {"kind", "PodTemplate"},
          {"metadata", {{"name", name}}},
          {"template", {{"spec", {{"containers", {{{"name", "c"}, {"image", image}}}}}}}}};
}

std::string ResourceVersionNow(kube::Client& client, const kube::GroupVersionResource& gvr) {
  auto list = client.List(gvr, kNs);
  if (!list) throw std::runtime_error(list.error().Describe());
  return (*list)["metadata"]["resourceVersion"];
}

// Records watch events on the objects whose name starts with `prefix` (the controller-manager
// adds kube-root-ca.crt to every namespace at its own pace); thread-safe.
struct Recorder {
  explicit Recorder(std::string name_prefix) : prefix(std::move(name_prefix)) {}
  const std::string prefix;
  std::mutex mu;
  std::vector<std::string> lines;  // "ADDED name value"
  void Add(const kube::WatchEvent& e, const std::string& value) {
    static const char* kNames[] = {"ADDED", "MODIFIED", "DELETED", "BOOKMARK"};
    if (e.type == kube::WatchEventType::kBookmark) return;
    if (e.object["metadata"].value("name", "").rfind(prefix, 0) != 0) return;
    std::lock_guard lock(mu);
    lines.push_back(std::string(kNames[static_cast<int>(e.type)]) + " " + e.object["metadata"].value("name", "") +
                    " " + value);
  }
  std::size_t Size() {
    std::lock_guard lock(mu);
    return lines.size();
  }
  std::vector<std::string> Lines() {
    std::lock_guard lock(mu);
    return lines;
  }
};

using WatchTest = k8stest::NamespacedTest<kSuite>;

TEST_F(WatchTest, ResumesAfterServerTimeoutWithoutLossOrRepeat) {
  const std::string from = ResourceVersionNow(*client_, res::kConfigMaps);
  Recorder seen("timeout-");
  int resumes = 0;
  kube::WatchOptions options;
  options.resource_version = from;
  options.timeout = std::chrono::seconds(1);  // the server ends each watch after 1 s
  std::jthread watcher([&](std::stop_token stop) {
    auto ended = kube::ResumableWatch(
        *client_, res::kConfigMaps, kNs, options,
        [&](kube::WatchEvent&& e) { seen.Add(e, e.object["data"].value("v", "")); }, stop, {},
        [&](const std::string& why) {
          EXPECT_EQ(why, "");
          ++resumes;
        });
    EXPECT_TRUE(ended);
  });
  std::vector<std::string> expected;
  for (int i = 0; i < 6; ++i) {
    const std::string name = "timeout-" + std::to_string(i);
    ASSERT_TRUE(client_->Create(res::kConfigMaps, kNs, ConfigMap(name, "1")));
    ASSERT_TRUE(client_->MergePatch(res::kConfigMaps, kNs, name, {{"data", {{"v", "2"}}}}));
    expected.push_back("ADDED " + name + " 1");
    expected.push_back("MODIFIED " + name + " 2");
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  EXPECT_TRUE(k8stest::Eventually([&] { return seen.Size() >= expected.size(); }, std::chrono::seconds(10)));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // one more resume: nothing replayed
  watcher.request_stop();
  watcher.join();
  EXPECT_EQ(seen.Lines(), expected);
  EXPECT_GE(resumes, 3);
}

TEST_F(WatchTest, OneWatchEndsAtTheServerTimeoutAndReturnsTheLastVersion) {
  kube::WatchOptions options;
  options.resource_version = ResourceVersionNow(*client_, res::kConfigMaps);
  options.timeout = std::chrono::seconds(3);
  std::vector<kube::WatchEvent> events;
  std::jthread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    EXPECT_TRUE(client_->Create(res::kConfigMaps, kNs, ConfigMap("single-watch", "1")));
  });
  std::stop_source stop;
  const auto start = std::chrono::steady_clock::now();
  auto ended = client_->Watch(res::kConfigMaps, kNs, options,
                              [&](kube::WatchEvent&& e) { events.push_back(std::move(e)); }, stop.get_token());
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(ended) << ended.error().Describe();
  EXPECT_GE(took, std::chrono::milliseconds(2500));
  EXPECT_LT(took, std::chrono::seconds(10));
  ASSERT_FALSE(events.empty());
  EXPECT_TRUE(std::any_of(events.begin(), events.end(), [](const kube::WatchEvent& e) {
    return e.type == kube::WatchEventType::kAdded && e.object["metadata"]["name"] == "single-watch";
  }));
  // What a resume starts from: the version of the last event (an object or a bookmark).
  EXPECT_EQ(*ended, events.back().object["metadata"]["resourceVersion"]);
  EXPECT_NE(*ended, options.resource_version);
}

TEST_F(WatchTest, ResumesAfterABrokenConnectionWithoutLossOrRepeat) {
  auto relay = k8stest::TcpRelay::ToApiserver();
  auto watch_client = k8stest::AdminClientAt(relay->url());

  const std::string from = ResourceVersionNow(*client_, res::kConfigMaps);
  Recorder seen("cut-");
  std::vector<std::string> resume_reasons;
  kube::WatchOptions options;
  options.resource_version = from;
  kube::ResumeOptions resume;
  resume.initial_backoff = std::chrono::milliseconds(200);
  std::jthread watcher([&](std::stop_token stop) {
    auto ended = kube::ResumableWatch(
        *watch_client, res::kConfigMaps, kNs, options,
        [&](kube::WatchEvent&& e) { seen.Add(e, e.object["data"].value("v", "")); }, stop, resume,
        [&](const std::string& why) { resume_reasons.push_back(why); });
    EXPECT_TRUE(ended);
  });
  ASSERT_TRUE(client_->Create(res::kConfigMaps, kNs, ConfigMap("cut-a", "1")));
  ASSERT_TRUE(k8stest::Eventually([&] { return seen.Size() == 1; }, std::chrono::seconds(10)));

  // Cut the connection and keep new ones out while changes happen: the watcher must pick them up
  // from where it was once the network is back.
  relay->Block(true);
  relay->Cut();
  ASSERT_TRUE(client_->MergePatch(res::kConfigMaps, kNs, "cut-a", {{"data", {{"v", "2"}}}}));
  ASSERT_TRUE(client_->Create(res::kConfigMaps, kNs, ConfigMap("cut-b", "1")));
  ASSERT_TRUE(client_->Delete(res::kConfigMaps, kNs, "cut-a"));
  std::this_thread::sleep_for(std::chrono::seconds(1));  // a few failed reconnections
  relay->Block(false);

  ASSERT_TRUE(k8stest::Eventually([&] { return seen.Size() >= 4; }, std::chrono::seconds(20)));
  ASSERT_TRUE(client_->Create(res::kConfigMaps, kNs, ConfigMap("cut-c", "1")));
  ASSERT_TRUE(k8stest::Eventually([&] { return seen.Size() >= 5; }, std::chrono::seconds(10)));
  watcher.request_stop();
  watcher.join();
  EXPECT_EQ(seen.Lines(), (std::vector<std::string>{"ADDED cut-a 1", "MODIFIED cut-a 2", "ADDED cut-b 1",
                                                    "DELETED cut-a 2", "ADDED cut-c 1"}));
  ASSERT_FALSE(resume_reasons.empty());
  EXPECT_NE(resume_reasons.front(), "");  // the first resume was for an error, not a server timeout
  EXPECT_GE(relay->connections_seen(), 2);
}

TEST_F(WatchTest, WatchFromACompactedVersionIsGone) {
  ASSERT_TRUE(client_->Create(kPodTemplates, kNs, PodTemplate("compact-a", "a:1")));
  const std::string old_version = ResourceVersionNow(*client_, kPodTemplates);
  ASSERT_TRUE(client_->MergePatch(kPodTemplates, kNs, "compact-a", {{"metadata", {{"labels", {{"x", "1"}}}}}}));
  // Compacting right at the first change after old_version would keep it watchable (only its
  // predecessor, which the apiserver needs as prevKV, goes: that is a 500). One more write makes the
  // first change itself history.
  ASSERT_TRUE(client_->Create(kPodTemplates, kNs, PodTemplate("compact-b", "b:1")));
  k8stest::CompactEtcd();
  kube::WatchOptions options;
  options.resource_version = old_version;
  options.timeout = std::chrono::seconds(5);
  std::stop_source stop;
  auto ended = client_->Watch(kPodTemplates, kNs, options, [](kube::WatchEvent&&) {}, stop.get_token());
  ASSERT_FALSE(ended);
  EXPECT_TRUE(ended.error().Gone()) << ended.error().Describe();
  // ResumableWatch hands Gone to its caller instead of retrying (bounded, should it retry anyway).
  std::jthread deadline([&](std::stop_token cancelled) {
    if (kube::SleepFor(std::chrono::seconds(15), cancelled)) stop.request_stop();
  });
  auto resumed = kube::ResumableWatch(*client_, kPodTemplates, kNs, options, [](kube::WatchEvent&&) {}, stop.get_token());
  ASSERT_FALSE(resumed);
  EXPECT_TRUE(resumed.error().Gone());
}

// Handler calls per object name, as "add", "update", "delete" in order.
struct HandlerLog {
  std::mutex mu;
  std::map<std::string, std::vector<std::string>> calls;
  kube::EventHandlers Handlers() {
    return {[this](const Json& o) { Log(o, "add"); }, [this](const Json&, const Json& o) { Log(o, "update"); },
            [this](const Json& o) { Log(o, "delete"); }};
  }
  void Log(const Json& o, const std::string& what) {
    std::lock_guard lock(mu);
    calls[o["metadata"].value("name", "")].push_back(what);
  }
  std::vector<std::string> For(const std::string& name) {
    std::lock_guard lock(mu);
    return calls[name];
  }
};

TEST_F(WatchTest, InformerRelistsAfterGoneWithoutMissingOrRepeatingState) {
  auto relay = k8stest::TcpRelay::ToApiserver();
  kube::ClientOptions quick;
  quick.timeout = std::chrono::seconds(5);
  quick.retry.max_attempts = 1;
  auto informer_client = k8stest::AdminClientAt(relay->url(), quick);

  ASSERT_TRUE(client_->Create(kPodTemplates, kNs, PodTemplate("inf-keep", "keep:1")));
  ASSERT_TRUE(client_->Create(kPodTemplates, kNs, PodTemplate("inf-change", "change:1")));
  ASSERT_TRUE(client_->Create(kPodTemplates, kNs, PodTemplate("inf-delete", "delete:1")));

  HandlerLog log;
  kube::InformerOptions options;
  options.ns = kNs;
  options.page_size = 2;  // the relist pages too
  options.resume.initial_backoff = std::chrono::milliseconds(200);
  options.resume.max_backoff = std::chrono::milliseconds(500);
  kube::Informer informer(*informer_client, kPodTemplates, options, log.Handlers());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(std::chrono::seconds(10)));
  EXPECT_EQ(informer.lists(), 1u);

  ASSERT_TRUE(client_->Create(kPodTemplates, kNs, PodTemplate("inf-live", "live:1")));
  ASSERT_TRUE(k8stest::Eventually([&] { return informer.store().Get(std::string(kNs) + "/inf-live").has_value(); },
                                  std::chrono::seconds(10)));

  // The informer is cut off while objects change and etcd compacts the history it would resume from.
  relay->Block(true);
  relay->Cut();
  ASSERT_TRUE(client_->MergePatch(kPodTemplates, kNs, "inf-change", {{"metadata", {{"labels", {{"v", "2"}}}}}}));
  ASSERT_TRUE(client_->Delete(kPodTemplates, kNs, "inf-delete"));
  ASSERT_TRUE(client_->Create(kPodTemplates, kNs, PodTemplate("inf-new", "new:1")));
  k8stest::CompactEtcd();
  relay->Block(false);

  auto server = client_->List(kPodTemplates, kNs);
  ASSERT_TRUE(server);
  const auto cache_matches_server = [&] {
    if (informer.store().Size() != (*server)["items"].size()) return false;
    for (const auto& item : (*server)["items"]) {
      auto cached = informer.store().Get(kube::ObjectKey(item));
      if (!cached || (*cached)["metadata"]["resourceVersion"] != item["metadata"]["resourceVersion"]) return false;
    }
    return true;
  };
  ASSERT_TRUE(k8stest::Eventually(cache_matches_server, std::chrono::seconds(20)));
  EXPECT_EQ(informer.lists(), 2u);  // exactly one relist, caused by Gone

  EXPECT_EQ(log.For("inf-keep"), std::vector<std::string>{"add"});
  EXPECT_EQ(log.For("inf-change"), (std::vector<std::string>{"add", "update"}));
  EXPECT_EQ(log.For("inf-delete"), (std::vector<std::string>{"add", "delete"}));
  EXPECT_EQ(log.For("inf-live"), std::vector<std::string>{"add"});
  EXPECT_EQ(log.For("inf-new"), std::vector<std::string>{"add"});

  // And it keeps watching afterwards.
  ASSERT_TRUE(client_->Delete(kPodTemplates, kNs, "inf-keep"));
  EXPECT_TRUE(k8stest::Eventually([&] { return log.For("inf-keep").size() == 2; }, std::chrono::seconds(10)));
  EXPECT_EQ(log.For("inf-keep"), (std::vector<std::string>{"add", "delete"}));
  informer.Stop();
}

TEST_F(WatchTest, InformerIndexesByOwner) {
  auto owner = client_->Create(res::kConfigMaps, kNs, ConfigMap("owner", "x"));
  ASSERT_TRUE(owner);
  const std::string uid = (*owner)["metadata"]["uid"];
  Json child = ConfigMap("owned-child", "y");
  child["metadata"]["ownerReferences"] = {
      {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"name", "owner"}, {"uid", uid}}};
  ASSERT_TRUE(client_->Create(res::kConfigMaps, kNs, child));
  HandlerLog log;
  kube::InformerOptions options;
  options.ns = kNs;
  kube::Informer informer(*client_, res::kConfigMaps, options, log.Handlers());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(std::chrono::seconds(10)));
  const auto children = informer.store().ByOwner(uid);
  ASSERT_EQ(children.size(), 1u);
  EXPECT_EQ(children[0]["metadata"]["name"], "owned-child");
  EXPECT_GE(informer.store().ByNamespace(kNs).size(), 2u);
  informer.Stop();
}

}  // namespace
