// Watch and informer against a real kube-apiserver: resumption after the server's timeout and
// after a cut connection (through a TcpRelay), 410 Gone after etcd compaction, and an informer
// that relists after Gone without losing or repeating state; and an informer across a real
// restart of the kube-apiserver (tests/k8s/controlplane/restart-apiserver.sh).
//
// PodTemplates are used for the compaction cases: the control plane for these tests runs with
// --watch-cache-sizes=podtemplates#0, so their watches are served by etcd itself. (The apiserver's
// watch cache keeps its own history and answers old versions from it, compaction or not.)
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <future>
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

// Issue 5: the kube-apiserver itself restarts (same flags, port and etcd; SIGTERM, then SIGKILL
// after a short grace, as the kubelet does to a static pod that is still draining). Objects change
// just before the restart (the informer may or may not see those before its watch dies), while it
// is down (written the moment it is back, racing the informer's reconnection) and after it is
// ready. Whether the informer resumes its watch or has to relist (the new apiserver's watch cache
// may not reach back to the informer's version), it must end equal to a fresh list, report every
// change exactly once, and get there on its own, retrying with back-off rather than in a loop.
TEST_F(WatchTest, InformerSurvivesAnApiserverRestartWithoutMissingOrRepeatingState) {
  if (std::getenv("STEGO_K8S_DIR") == nullptr) {
    GTEST_SKIP() << "needs STEGO_K8S_DIR, the run directory of a control plane started by up.sh";
  }
  const std::string ns = k8stest::UniqueName("watch-restart");
  k8stest::EnsureNamespace(*client_, ns);
  // A writer that fails fast, so that its own loop decides how long to keep trying.
  kube::ClientOptions quick;
  quick.timeout = std::chrono::seconds(2);
  quick.retry.max_attempts = 1;
  auto writer = k8stest::AdminClientAt(k8stest::AdminConfig().server, quick);

  const std::vector<std::string> phases = {"before", "down", "after"};
  for (const auto& phase : phases) {
    ASSERT_TRUE(writer->Create(res::kConfigMaps, ns, ConfigMap("rs-mod-" + phase, "1")));
    ASSERT_TRUE(writer->Create(res::kConfigMaps, ns, ConfigMap("rs-del-" + phase, "1")));
  }
  ASSERT_TRUE(writer->Create(res::kConfigMaps, ns, ConfigMap("rs-keep", "1")));

  // The informer goes through a relay only to count its connection attempts.
  auto relay = k8stest::TcpRelay::ToApiserver();
  auto informer_client = k8stest::AdminClientAt(relay->url(), quick);
  HandlerLog log;
  kube::InformerOptions options;
  options.ns = ns;
  options.resume.initial_backoff = std::chrono::milliseconds(200);
  options.resume.max_backoff = std::chrono::seconds(1);
  kube::Informer informer(*informer_client, res::kConfigMaps, options, log.Handlers());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(std::chrono::seconds(10))) << "informer did not sync";

  // Each phase: one object modified, one deleted, one created. Done with retries, so that the
  // "down" phase lands as soon as the new apiserver takes writes. A lost answer may hide that the
  // write happened: then the retry finds AlreadyExists or NotFound, which is the state we want.
  const auto change = [&](const std::string& phase, std::chrono::seconds patience) -> std::string {
    const auto deadline = std::chrono::steady_clock::now() + patience;
    const auto retry = [&](const std::string& what, const std::function<bool()>& op) -> std::string {
      while (!op()) {
        if (std::chrono::steady_clock::now() > deadline) return what + " not done within the patience";
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
      return "";
    };
    std::string failed;
    failed += retry("patch rs-mod-" + phase, [&] {
      return writer->MergePatch(res::kConfigMaps, ns, "rs-mod-" + phase, {{"data", {{"v", "2"}}}}).has_value();
    });
    failed += retry("delete rs-del-" + phase, [&] {
      auto done = writer->Delete(res::kConfigMaps, ns, "rs-del-" + phase);
      return done || done.error().NotFound();
    });
    failed += retry("create rs-new-" + phase, [&] {
      auto done = writer->Create(res::kConfigMaps, ns, ConfigMap("rs-new-" + phase, "1"));
      return done || done.error().AlreadyExists();
    });
    return failed;
  };
  ASSERT_EQ(change("before", std::chrono::seconds(10)), "");

  const int attempts_before = relay->connections_accepted();
  const auto restart_began = std::chrono::steady_clock::now();
  auto restarted = std::async(std::launch::async, [] {
    return k8stest::RestartApiserver(std::chrono::seconds(3), std::chrono::seconds(120));
  });
  // Wait until the apiserver refuses requests, then queue the "down" phase.
  const bool went_down = k8stest::Eventually(
      [&] { return !writer->Get(kube::resources::kNamespaces, "", ns).has_value(); }, std::chrono::seconds(30));
  if (!went_down) {
    ADD_FAILURE() << "the apiserver kept answering for 30 s after the restart began";
  }
  auto down_phase = std::async(std::launch::async, [&] { return change("down", std::chrono::seconds(120)); });
  const std::string restart_error = restarted.get();
  const double restart_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - restart_began).count();
  const int attempts = relay->connections_accepted() - attempts_before;
  ASSERT_EQ(restart_error, "");
  ASSERT_EQ(down_phase.get(), "");
  ASSERT_EQ(change("after", std::chrono::seconds(10)), "");

  // The cache against a fresh list, taken anew each time (the controller-manager may still add
  // kube-root-ca.crt to the namespace): same keys, same versions, same data.
  std::string difference;
  const auto cache_matches_server = [&] {
    auto server = client_->List(res::kConfigMaps, ns);
    if (!server) {
      difference = "list failed: " + server.error().Describe();
      return false;
    }
    std::map<std::string, Json> expected;
    for (const auto& item : (*server)["items"]) expected[kube::ObjectKey(item)] = item;
    difference.clear();
    for (const auto& [key, item] : expected) {
      auto cached = informer.store().Get(key);
      if (!cached) {
        difference += " missing " + key + ";";
      } else if ((*cached)["metadata"]["resourceVersion"] != item["metadata"]["resourceVersion"] ||
                 (*cached)["metadata"]["uid"] != item["metadata"]["uid"] || (*cached)["data"] != item["data"]) {
        difference += " stale " + key + ";";
      }
    }
    for (const auto& cached : informer.store().List()) {
      if (!expected.contains(kube::ObjectKey(cached))) difference += " extra " + kube::ObjectKey(cached) + ";";
    }
    return difference.empty();
  };
  ASSERT_TRUE(k8stest::Eventually(cache_matches_server, std::chrono::seconds(30)))
      << "the informer's cache still differs from the server 30 s after the restart:" << difference
      << " (lists " << informer.lists() << ", resumes " << informer.resumes() << ")";

  // Every change reported exactly once, and nothing else about these objects.
  std::map<std::string, std::vector<std::string>> expected_calls = {{"rs-keep", {"add"}}};
  for (const auto& phase : phases) {
    expected_calls["rs-mod-" + phase] = {"add", "update"};
    expected_calls["rs-del-" + phase] = {"add", "delete"};
    expected_calls["rs-new-" + phase] = {"add"};
  }
  std::map<std::string, std::vector<std::string>> calls;
  {
    std::lock_guard lock(log.mu);
    for (const auto& [name, what] : log.calls) {
      if (name.starts_with("rs-")) calls[name] = what;
    }
  }
  EXPECT_EQ(calls, expected_calls);

  // It reconnected by itself, at a back-off pace: a busy loop would try hundreds of times a
  // second; the back-off (0.1-1 s per attempt) allows a few per second at most. New connections
  // (counted by the relay) show the attempts while nothing listened; resumes and relists also count
  // retries over a kept-alive connection.
  const double caught_up_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - restart_began).count();
  const auto reconnections = informer.lists() - 1 + informer.resumes();
  EXPECT_GE(reconnections, 1u) << "the informer never reconnected";
  EXPECT_LE(reconnections, 5u + static_cast<unsigned>(4 * caught_up_seconds))
      << reconnections << " relists and resumes in " << caught_up_seconds << " s";
  EXPECT_GE(attempts, 1) << "no connection attempt while the apiserver restarted";
  EXPECT_LE(attempts, 5 + static_cast<int>(4 * restart_seconds))
      << attempts << " connection attempts in " << restart_seconds << " s";
  std::printf("apiserver restart: %.1f s, informer: %d connection attempts, %llu lists, %llu resumes\n",
              restart_seconds, attempts, static_cast<unsigned long long>(informer.lists()),
              static_cast<unsigned long long>(informer.resumes()));

  // And it keeps watching.
  ASSERT_TRUE(writer->Create(res::kConfigMaps, ns, ConfigMap("rs-final", "1")));
  EXPECT_TRUE(k8stest::Eventually([&] { return log.For("rs-final").size() == 1; }, std::chrono::seconds(10)))
      << "a change after the restart did not reach the informer";
  informer.Stop();
  EXPECT_EQ(log.For("rs-final"), std::vector<std::string>{"add"});
}

}  // namespace
