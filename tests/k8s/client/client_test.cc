// The REST verbs against a real kube-apiserver: CRUD, conflicts, pagination, server-side apply
// ownership, subresources on a custom resource, RBAC refusals and the ways to authenticate.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "operator/kube/client.h"
#include "tests/k8s/client/k8s_test_env.h"

namespace {

using kube::Json;
namespace res = kube::resources;

constexpr char kSuite[] = "client-test";
// The suite's namespace (set up by the fixture before any test runs).
const std::string& kNs = k8stest::NamespacedTest<kSuite>::ns();

Json ConfigMap(const std::string& name, Json data, Json labels = Json::object()) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}, {"namespace", kNs}, {"labels", labels}}},
          {"data", std::move(data)}};
}

using ClientTest = k8stest::NamespacedTest<kSuite>;

TEST_F(ClientTest, ConfigMapCreateGetUpdatePatchDelete) {
  auto created = client_->Create(res::kConfigMaps, kNs, ConfigMap("crud", {{"a", "1"}}));
  ASSERT_TRUE(created) << created.error().Describe();
  EXPECT_FALSE((*created)["metadata"]["uid"].get<std::string>().empty());

  auto again = client_->Create(res::kConfigMaps, kNs, ConfigMap("crud", {{"a", "1"}}));
  ASSERT_FALSE(again);
  EXPECT_TRUE(again.error().AlreadyExists()) << again.error().Describe();

  auto got = client_->Get(res::kConfigMaps, kNs, "crud");
  ASSERT_TRUE(got) << got.error().Describe();
  EXPECT_EQ((*got)["data"]["a"], "1");

  Json changed = *got;
  changed["data"]["a"] = "2";
  auto updated = client_->Update(res::kConfigMaps, kNs, changed);
  ASSERT_TRUE(updated) << updated.error().Describe();
  EXPECT_EQ((*updated)["data"]["a"], "2");
  EXPECT_NE((*updated)["metadata"]["resourceVersion"], (*got)["metadata"]["resourceVersion"]);

  // JSON merge patch: null removes a key, other keys are merged.
  auto patched = client_->MergePatch(res::kConfigMaps, kNs, "crud", {{"data", {{"a", nullptr}, {"b", "3"}}}});
  ASSERT_TRUE(patched) << patched.error().Describe();
  EXPECT_FALSE((*patched)["data"].contains("a"));
  EXPECT_EQ((*patched)["data"]["b"], "3");

  // Preconditions: a delete for another incarnation (uid) or version is refused with 409.
  kube::DeleteOptions wrong_uid;
  wrong_uid.precondition_uid = "00000000-0000-0000-0000-000000000000";
  auto refused = client_->Delete(res::kConfigMaps, kNs, "crud", wrong_uid);
  ASSERT_FALSE(refused);
  EXPECT_TRUE(refused.error().Conflict()) << refused.error().Describe();
  kube::DeleteOptions stale_version;
  stale_version.precondition_resource_version = (*got)["metadata"]["resourceVersion"];
  refused = client_->Delete(res::kConfigMaps, kNs, "crud", stale_version);
  ASSERT_FALSE(refused);
  EXPECT_TRUE(refused.error().Conflict()) << refused.error().Describe();

  kube::DeleteOptions right;
  right.precondition_uid = (*created)["metadata"]["uid"];
  right.precondition_resource_version = (*patched)["metadata"]["resourceVersion"];
  right.propagation = kube::Propagation::kBackground;
  auto deleted = client_->Delete(res::kConfigMaps, kNs, "crud", right);
  ASSERT_TRUE(deleted) << deleted.error().Describe();

  auto gone = client_->Get(res::kConfigMaps, kNs, "crud");
  ASSERT_FALSE(gone);
  EXPECT_TRUE(gone.error().NotFound());
  EXPECT_EQ(gone.error().http_status, 404);
  EXPECT_NE(gone.error().Describe().find("configmaps \"crud\" in namespace \"" + kNs + "\""), std::string::npos)
      << gone.error().Describe();
}

TEST_F(ClientTest, UpdateWithStaleResourceVersionIsAConflict) {
  auto created = client_->Create(res::kConfigMaps, kNs, ConfigMap("stale", {{"v", "0"}}));
  ASSERT_TRUE(created) << created.error().Describe();
  Json first = *created, second = *created;
  first["data"]["v"] = "first";
  ASSERT_TRUE(client_->Update(res::kConfigMaps, kNs, first));
  second["data"]["v"] = "second";  // still carries the old resourceVersion
  auto conflict = client_->Update(res::kConfigMaps, kNs, second);
  ASSERT_FALSE(conflict);
  EXPECT_EQ(conflict.error().http_status, 409);
  EXPECT_TRUE(conflict.error().Conflict());
  EXPECT_EQ(conflict.error().reason, "Conflict");
  EXPECT_EQ((*client_->Get(res::kConfigMaps, kNs, "stale"))["data"]["v"], "first");
}

TEST_F(ClientTest, ListPaginatesWithLimitAndContinue) {
  for (int i = 0; i < 7; ++i) {
    ASSERT_TRUE(client_->Create(res::kConfigMaps, kNs, ConfigMap("page-" + std::to_string(i), {{"i", "x"}}, {{"set", "paging"}})));
  }
  kube::ListOptions options;
  options.label_selector = "set=paging";
  options.limit = 3;
  std::vector<std::string> names;
  int pages = 0;
  for (;;) {
    auto page = client_->List(res::kConfigMaps, kNs, options);
    ASSERT_TRUE(page) << page.error().Describe();
    ++pages;
    EXPECT_LE((*page)["items"].size(), 3u);
    for (const auto& item : (*page)["items"]) names.push_back(item["metadata"]["name"]);
    options.continue_token = (*page)["metadata"].value("continue", "");
    if (options.continue_token.empty()) break;
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(names.size(), 7u);

  kube::ListOptions all_options;
  all_options.label_selector = "set=paging";
  all_options.limit = 2;
  auto all = client_->ListAll(res::kConfigMaps, kNs, all_options);
  ASSERT_TRUE(all) << all.error().Describe();
  EXPECT_EQ((*all)["items"].size(), 7u);
  EXPECT_FALSE((*all)["metadata"].contains("continue"));
  EXPECT_FALSE((*all)["metadata"].value("resourceVersion", "").empty());

  kube::ListOptions bad;
  bad.continue_token = "not-a-token";
  auto refused = client_->List(res::kConfigMaps, kNs, bad);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().http_status, 400) << refused.error().Describe();
}

// The managers listed in managedFields, with their operations.
std::vector<std::string> Managers(const Json& object) {
  std::vector<std::string> out;
  for (const auto& entry : object["metadata"]["managedFields"]) {
    out.push_back(entry.value("manager", "") + "/" + entry.value("operation", ""));
  }
  return out;
}

void ExpectApplyOwnership(kube::Client& client, const kube::GroupVersionResource& gvr, Json object,
                          const std::string& field_path_key, Json other_value) {
  kube::ApplyOptions ours{"stego-operator", false};
  auto applied = client.Apply(gvr, kNs, object, ours);
  ASSERT_TRUE(applied) << applied.error().Describe();
  EXPECT_EQ(Managers(*applied), std::vector<std::string>{"stego-operator/Apply"});

  // Applying the same again is a no-op success.
  ASSERT_TRUE(client.Apply(gvr, kNs, object, ours));

  Json theirs = object;
  theirs[field_path_key] = other_value;
  auto conflict = client.Apply(gvr, kNs, theirs, {"other-tool", false});
  ASSERT_FALSE(conflict);
  EXPECT_EQ(conflict.error().http_status, 409);
  EXPECT_TRUE(conflict.error().Conflict());
  EXPECT_NE(conflict.error().message.find("stego-operator"), std::string::npos) << conflict.error().Describe();

  auto forced = client.Apply(gvr, kNs, theirs, {"other-tool", true});
  ASSERT_TRUE(forced) << forced.error().Describe();
  EXPECT_EQ((*forced)[field_path_key], other_value);
  const auto managers = Managers(*forced);
  EXPECT_NE(std::find(managers.begin(), managers.end(), "other-tool/Apply"), managers.end());
}

TEST_F(ClientTest, ServerSideApplyOwnershipOnConfigMap) {
  ExpectApplyOwnership(*client_, res::kConfigMaps, ConfigMap("applied", {{"mode", "ours"}}), "data",
                       {{"mode", "theirs"}});
}

const kube::GroupVersionResource kWidgets{"test.stegocluster.io", "v1", "widgets"};

void EnsureWidgetCrd(kube::Client& client) {
  const Json crd = {
      {"apiVersion", "apiextensions.k8s.io/v1"},
      {"kind", "CustomResourceDefinition"},
      {"metadata", {{"name", "widgets.test.stegocluster.io"}}},
      {"spec",
       {{"group", "test.stegocluster.io"},
        {"scope", "Namespaced"},
        {"names", {{"plural", "widgets"}, {"singular", "widget"}, {"kind", "Widget"}}},
        {"versions",
         {{{"name", "v1"},
           {"served", true},
           {"storage", true},
           {"subresources",
            {{"status", Json::object()},
             {"scale", {{"specReplicasPath", ".spec.replicas"}, {"statusReplicasPath", ".status.replicas"}}}}},
           {"schema",
            {{"openAPIV3Schema",
              {{"type", "object"},
               {"properties",
                {{"spec", {{"type", "object"}, {"properties", {{"replicas", {{"type", "integer"}}}, {"color", {{"type", "string"}}}}}}},
                 {"status", {{"type", "object"}, {"properties", {{"replicas", {{"type", "integer"}}}, {"phase", {{"type", "string"}}}}}}}}}}}}}}}}}}};
  auto applied = client.Apply(kube::resources::kCustomResourceDefinitions, "", crd, {"client-test", true});
  ASSERT_TRUE(applied) << applied.error().Describe();
  const bool established = k8stest::Eventually(
      [&] {
        auto got = client.Get(kube::resources::kCustomResourceDefinitions, "", "widgets.test.stegocluster.io");
        if (!got) return false;
        for (const auto& c : (*got)["status"].value("conditions", Json::array())) {
          if (c["type"] == "Established" && c["status"] == "True") return true;
        }
        return false;
      },
      std::chrono::seconds(30));
  ASSERT_TRUE(established);
  // Discovery of a new CRD takes a moment after Established.
  ASSERT_TRUE(k8stest::Eventually([&] { return bool(client.List(kWidgets, kNs)); }, std::chrono::seconds(30)));
}

Json Widget(const std::string& name, Json spec) {
  return {{"apiVersion", "test.stegocluster.io/v1"},
          {"kind", "Widget"},
          {"metadata", {{"name", name}, {"namespace", kNs}}},
          {"spec", std::move(spec)}};
}

TEST_F(ClientTest, CustomResourceCrudApplyStatusAndScale) {
  ASSERT_NO_FATAL_FAILURE(EnsureWidgetCrd(*client_));
  ExpectApplyOwnership(*client_, kWidgets, Widget("owned", {{"color", "red"}, {"replicas", 1}}), "spec",
                       {{"color", "blue"}, {"replicas", 1}});

  auto created = client_->Create(kWidgets, kNs, Widget("w1", {{"replicas", 2}}));
  ASSERT_TRUE(created) << created.error().Describe();

  // The status subresource: a status write through the main resource is ignored, through /status it lands.
  Json with_status = *created;
  with_status["status"] = {{"phase", "Ready"}, {"replicas", 2}};
  auto main_write = client_->Update(kWidgets, kNs, with_status);
  ASSERT_TRUE(main_write) << main_write.error().Describe();
  EXPECT_FALSE(main_write->contains("status"));
  with_status["metadata"]["resourceVersion"] = (*main_write)["metadata"]["resourceVersion"];
  auto status_write = client_->UpdateStatus(kWidgets, kNs, with_status);
  ASSERT_TRUE(status_write) << status_write.error().Describe();
  EXPECT_EQ((*status_write)["status"]["phase"], "Ready");
  auto status_patch = client_->MergePatch(kWidgets, kNs, "w1", {{"status", {{"phase", "Degraded"}}}}, "status");
  ASSERT_TRUE(status_patch) << status_patch.error().Describe();
  EXPECT_EQ((*status_patch)["status"]["phase"], "Degraded");
  auto status_apply = client_->Apply(
      kWidgets, kNs, {{"apiVersion", "test.stegocluster.io/v1"}, {"kind", "Widget"},
                      {"metadata", {{"name", "w1"}, {"namespace", kNs}}}, {"status", {{"phase", "Applied"}}}},
      {"stego-operator", true}, "status");
  ASSERT_TRUE(status_apply) << status_apply.error().Describe();
  EXPECT_EQ((*status_apply)["status"]["phase"], "Applied");

  // The scale subresource maps to .spec.replicas.
  auto scale = client_->GetScale(kWidgets, kNs, "w1");
  ASSERT_TRUE(scale) << scale.error().Describe();
  EXPECT_EQ((*scale)["kind"], "Scale");
  EXPECT_EQ((*scale)["spec"]["replicas"], 2);
  auto rescaled = client_->SetScale(kWidgets, kNs, "w1", 5);
  ASSERT_TRUE(rescaled) << rescaled.error().Describe();
  EXPECT_EQ((*client_->Get(kWidgets, kNs, "w1"))["spec"]["replicas"], 5);
  EXPECT_FALSE(client_->SetScale(kWidgets, kNs, "w1", -1));

  ASSERT_TRUE(client_->Delete(kWidgets, kNs, "w1"));
  EXPECT_TRUE(client_->Get(kWidgets, kNs, "w1").error().NotFound());
}

TEST_F(ClientTest, BadInputIsRefusedBeforeAnyRequest) {
  auto slash = client_->Get(res::kConfigMaps, kNs, "a/../../secrets/x");
  ASSERT_FALSE(slash);
  EXPECT_EQ(slash.error().reason, "Invalid");
  EXPECT_EQ(slash.error().http_status, 0);
  auto no_ns = client_->Get(res::kConfigMaps, "", "x");
  ASSERT_FALSE(no_ns);
  EXPECT_NE(no_ns.error().message.find("namespace is required"), std::string::npos);
  auto no_manager = client_->Apply(res::kConfigMaps, kNs, ConfigMap("x", Json::object()), {"", false});
  ASSERT_FALSE(no_manager);
  EXPECT_NE(no_manager.error().message.find("field manager"), std::string::npos);
  auto nameless = client_->Update(res::kConfigMaps, kNs, {{"data", Json::object()}});
  ASSERT_FALSE(nameless);
  EXPECT_EQ(nameless.error().reason, "Invalid");
}

// A service account without any RBAC grant, authenticated by a bearer token in a file; then the
// file is replaced by the admin token and the same Client picks it up.
TEST_F(ClientTest, RbacRefusalNamesVerbAndResourceAndTokenFileIsReread) {
  const std::string sa_token = k8stest::ServiceAccountToken(*client_, kNs, "nobody");

  const std::string token_path = ::testing::TempDir() + "/kube-client-test-token";
  std::ofstream(token_path) << sa_token << "\n";
  kube::Config config = k8stest::AdminConfig();
  config.client_cert_pem.clear();
  config.client_key_pem.clear();
  config.token_file = token_path;
  auto made = kube::Client::FromConfig(config);
  ASSERT_TRUE(made) << made.error();
  auto& client = *made;

  auto refused = client->Get(res::kConfigMaps, kNs, "anything");
  ASSERT_FALSE(refused);
  EXPECT_TRUE(refused.error().Forbidden());
  const std::string text = refused.error().Describe();
  EXPECT_NE(text.find("RBAC refused to let this client get configmaps \"anything\" in namespace \"" + kNs + "\""),
            std::string::npos) << text;
  EXPECT_NE(text.find("system:serviceaccount:" + kNs + ":nobody"), std::string::npos) << text;
  auto list_refused = client->List(res::kConfigMaps, kNs);
  ASSERT_FALSE(list_refused);
  EXPECT_NE(list_refused.error().Describe().find("list configmaps in namespace"), std::string::npos);

  // Rotation: a new file (a new inode with another mtime and size, as kubelet's symlink swap).
  std::ifstream admin_token_file(std::getenv("K8S_ADMIN_TOKEN_FILE"));
  std::string admin_token;
  std::getline(admin_token_file, admin_token);
  ASSERT_FALSE(admin_token.empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::ofstream(token_path + ".new") << admin_token << "\n";
  std::filesystem::rename(token_path + ".new", token_path);
  auto allowed = client->List(res::kConfigMaps, kNs);
  EXPECT_TRUE(allowed) << allowed.error().Describe();
}

TEST_F(ClientTest, TokenContextOfTheKubeconfigAuthenticates) {
  auto config = kube::LoadKubeconfig(std::getenv("KUBECONFIG"), "stego-token");
  ASSERT_TRUE(config) << config.error();
  EXPECT_FALSE(config->token.empty());
  EXPECT_TRUE(config->client_cert_pem.empty());
  auto made = kube::Client::FromConfig(*config);
  ASSERT_TRUE(made) << made.error();
  auto& client = *made;
  auto ns = client->Get(res::kNamespaces, "", kNs);
  ASSERT_TRUE(ns) << ns.error().Describe();
  EXPECT_EQ((*ns)["metadata"]["name"], kNs);
}

TEST_F(ClientTest, UnreachableServerIsATransportErrorAfterRetries) {
  kube::ClientOptions options;
  options.timeout = std::chrono::seconds(2);
  options.retry.max_attempts = 3;
  options.retry.initial_backoff = std::chrono::milliseconds(100);
  auto client = k8stest::AdminClientAt("https://127.0.0.1:1", options);  // nothing listens on port 1
  const auto start = std::chrono::steady_clock::now();
  auto got = client->Get(res::kConfigMaps, kNs, "x");
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(got);
  EXPECT_TRUE(got.error().TransportFailure()) << got.error().Describe();
  EXPECT_GE(took, std::chrono::milliseconds(300));  // 100 + 200 ms of back-off between 3 attempts
  // create is not idempotent: one attempt only.
  const auto create_start = std::chrono::steady_clock::now();
  EXPECT_FALSE(client->Create(res::kConfigMaps, kNs, ConfigMap("x", Json::object())));
  EXPECT_LT(std::chrono::steady_clock::now() - create_start, std::chrono::milliseconds(300));
}

TEST_F(ClientTest, ASilentServerIsATimeoutNotAHang) {
  // A socket that listens but never accepts: the TCP connect succeeds, the TLS handshake never ends.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(::listen(fd, 16), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  kube::ClientOptions options;
  options.timeout = std::chrono::seconds(1);
  options.retry.max_attempts = 2;
  auto client = k8stest::AdminClientAt("https://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)), options);
  const auto start = std::chrono::steady_clock::now();
  auto got = client->Get(res::kConfigMaps, kNs, "x");
  const auto took = std::chrono::steady_clock::now() - start;
  ::close(fd);
  ASSERT_FALSE(got);
  EXPECT_TRUE(got.error().TransportFailure()) << got.error().Describe();
  EXPECT_GE(took, std::chrono::milliseconds(2000));  // two attempts of 1 s
  EXPECT_LT(took, std::chrono::seconds(8));
}

}  // namespace
