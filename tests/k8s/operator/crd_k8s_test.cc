// The StegoCluster CRD on a real kube-apiserver: it is accepted and established; the server's
// defaults are the C++ types' (operator/api); invalid specs are refused with the CRD's CEL
// messages, changes the rules forbid too; `kubectl scale` goes through the scale subresource; and
// `kubectl explain` reads like documentation.
#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "operator/api/stego_cluster.h"
#include "operator/specs/specs.h"
#include "operator/kube/yaml.h"
#include "tests/k8s/client/k8s_test_env.h"

namespace stegocluster {
namespace {

using namespace std::chrono_literals;

const kube::GroupVersionResource kCrds{"apiextensions.k8s.io", "v1", "customresourcedefinitions", false};
const kube::GroupVersionResource kStego{std::string(kGroup), std::string(kVersion), std::string(kPlural), true};

const Json& Crd() {
  static const Json crd = [] {
    auto read = kube::ReadYamlFile(STEGO_CRD_FILE);
    if (!read) throw std::runtime_error(read.error());
    return *read;
  }();
  return crd;
}

const Json& SpecSchema() { return Crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]; }

std::string RuleMessage(const std::string& field, std::size_t n = 0) {
  return SpecSchema()["properties"][field]["x-kubernetes-validations"][n]["message"];
}

using k8stest::Shell;

constexpr char kPrefix[] = "crd";
class CrdOnApiServer : public k8stest::NamespacedTest<kPrefix> {
 protected:
  static void SetUpTestSuite() {
    NamespacedTest::SetUpTestSuite();
    auto applied = client_->Apply(kCrds, "", Crd(), {.field_manager = "crd-test", .force = true});
    ASSERT_TRUE(applied) << applied.error().message;
    // Established once the server serves the new resource.
    ASSERT_TRUE(k8stest::Eventually([] {
      auto crd = client_->Get(kCrds, "", "stegoclusters.stegocluster.io");
      if (!crd) return false;
      for (const Json& c : (*crd)["status"].value("conditions", Json::array())) {
        if (c["type"] == "Established" && c["status"] == "True") return client_->List(kStego, ns(), {}).has_value();
      }
      return false;
    }, 30s));
  }

  static Json Cluster(const std::string& name, const Json& spec) {
    return {{"apiVersion", "stegocluster.io/v1alpha1"}, {"kind", "StegoCluster"},
            {"metadata", {{"name", name}, {"namespace", ns()}}}, {"spec", spec}};
  }
  // What creating a cluster with `spec` answers: "" when created, else the server's message.
  static std::string Refusal(const std::string& name, const Json& spec) {
    auto created = client_->Create(kStego, ns(), Cluster(name, spec));
    if (created) return "";
    EXPECT_EQ(created.error().http_status, 422) << created.error().message;
    return created.error().message;
  }
};

// Every value the server put in `server` is the one in `ours` at the same place.
void ExpectServerValuesAreOurs(const Json& server, const Json& ours, const std::string& path) {
  for (const auto& [key, value] : server.items()) {
    ASSERT_TRUE(ours.contains(key)) << path << "." << key;
    if (value.is_object() && !value.empty()) {
      ExpectServerValuesAreOurs(value, ours[key], path + "." + key);
    } else if (!value.is_object()) {
      EXPECT_EQ(value, ours[key]) << path << "." << key;
    }
  }
}

TEST_F(CrdOnApiServer, TheServersDefaultsAreTheTypesDefaults) {
  auto created = client_->Create(kStego, ns(), Cluster("defaults", Json::object()));
  ASSERT_TRUE(created) << created.error().message;
  const Json& server_spec = (*created)["spec"];
  EXPECT_EQ(server_spec["replicas"], 3);
  EXPECT_EQ(server_spec["storage"]["size"], "1Gi");
  EXPECT_EQ(server_spec["pod"]["terminationGracePeriodSeconds"], 30);
  ExpectServerValuesAreOurs(server_spec, SpecToJson(StegoClusterSpec{}), "spec");
  auto read = SpecFromJson(server_spec);
  ASSERT_TRUE(read) << read.error();
  EXPECT_EQ(SpecToJson(*read), SpecToJson(StegoClusterSpec{}));
}

TEST_F(CrdOnApiServer, InvalidSpecsAreRefusedWithTheCrdsMessages) {
  EXPECT_NE(Refusal("too-many", {{"replicas", 10}}).find("spec.replicas"), std::string::npos);
  EXPECT_NE(Refusal("no-host", {{"ingress", {{"enabled", true}}}}).find(RuleMessage("ingress")), std::string::npos);
  EXPECT_NE(Refusal("raft", {{"raft", {{"heartbeatMillis", 100}, {"electionTimeoutMillis", 200}}}})
                .find(RuleMessage("raft")),
            std::string::npos);
  EXPECT_NE(Refusal("lsb", {{"worker", {{"defaultLsbBits", 5}}}}).find("spec.worker.defaultLsbBits"),
            std::string::npos);
  EXPECT_NE(Refusal("pull", {{"imagePullPolicy", "Sometimes"}}).find("spec.imagePullPolicy"), std::string::npos);
  EXPECT_NE(Refusal("size", {{"storage", {{"size", "lots"}}}}).find("quantity"), std::string::npos);
  const Json& proxies = SpecSchema()["properties"]["worker"]["properties"]["trustedProxies"];
  EXPECT_NE(Refusal("proxies", {{"worker", {{"trustedProxies", {"10.42.0.0/16", "ingress.local"}}}}})
                .find(proxies["x-kubernetes-validations"][0]["message"].get<std::string>()),
            std::string::npos);
  EXPECT_NE(Refusal("limits", {{"worker", {{"clientLimits", {{"requestsPerSecond", -1}}}}}})
                .find("spec.worker.clientLimits.requestsPerSecond"),
            std::string::npos);
  // What the types refuse, the server refuses, and the other way round.
  for (const Json& spec : {Json{{"replicas", 10}}, Json{{"ingress", {{"enabled", true}}}},
                           Json{{"worker", {{"trustedProxies", {"10.42.0.0/16", "ingress.local"}}}}}}) {
    EXPECT_FALSE(SpecFromJson(spec)) << spec;
  }
  EXPECT_EQ(Refusal("fine", {{"replicas", 5}, {"ingress", {{"enabled", true}, {"host", "stego.example"}}}}), "");
  const Json limited = {{"worker", {{"clientLimits", {{"requestsPerSecond", 20}, {"burst", 40}}},
                                    {"trustedProxies", {"10.42.0.0/16", "192.0.2.7", "fd00::/8"}}}}};
  EXPECT_EQ(Refusal("limited", limited), "");
  EXPECT_TRUE(SpecFromJson(limited));
}

TEST_F(CrdOnApiServer, ChangesTheRulesForbidAreRefused) {
  ASSERT_EQ(Refusal("storage", {{"storage", {{"type", "PersistentVolumeClaim"}, {"size", "1Gi"},
                                              {"storageClassName", "fast"}}},
                                {"auth", {{"secretName", "keys"}}}}),
            "");
  auto patch = [&](const Json& spec) {
    auto r = client_->MergePatch(kStego, ns(), "storage", {{"spec", spec}});
    return r ? std::string() : r.error().message;
  };
  EXPECT_NE(patch({{"storage", {{"storageClassName", "slow"}}}}).find(RuleMessage("storage", 0)), std::string::npos);
  EXPECT_NE(patch({{"storage", {{"size", "512Mi"}}}}).find(RuleMessage("storage", 1)), std::string::npos);
  EXPECT_NE(patch({{"storage", {{"type", "EmptyDir"}}}}).find(RuleMessage("storage", 2)), std::string::npos);
  EXPECT_NE(patch({{"auth", {{"secretName", "other"}}}}).find(RuleMessage("auth")), std::string::npos);
  EXPECT_EQ(patch({{"storage", {{"size", "2Gi"}}}}), "") << "growing is allowed";
}

TEST_F(CrdOnApiServer, KubectlScalesThroughTheScaleSubresourceAndListsTheColumns) {
  ASSERT_EQ(Refusal("scaled", Json::object()), "");
  const std::string flags = " -n " + ns();
  EXPECT_NE(Shell("kubectl scale stegocluster/scaled --replicas=5" + flags).find("scaled"), std::string::npos);
  auto scaled = client_->Get(kStego, ns(), "scaled");
  ASSERT_TRUE(scaled);
  EXPECT_EQ((*scaled)["spec"]["replicas"], 5);
  auto scale = client_->GetScale(kStego, ns(), "scaled");
  ASSERT_TRUE(scale) << scale.error().message;
  EXPECT_EQ((*scale)["spec"]["replicas"], 5);

  const std::string table = Shell("kubectl get stego scaled" + flags);
  for (const char* column : {"REPLICAS", "READY", "LEADER", "TERM", "AVAILABLE", "PROGRESSING", "AGE"}) {
    EXPECT_NE(table.find(column), std::string::npos) << column << " in\n" << table;
  }
  EXPECT_NE(table.find("scaled"), std::string::npos) << "the short name: " << table;
}

TEST_F(CrdOnApiServer, KubectlExplainReadsLikeDocumentation) {
  const std::string spec = Shell("kubectl explain stegocluster.spec");
  EXPECT_NE(spec.find("What the cluster should be"), std::string::npos) << spec;
  EXPECT_NE(spec.find("Number of members (Raft voters)"), std::string::npos) << spec;
  const std::string storage = Shell("kubectl explain stegocluster.spec.storage.storageClassName");
  EXPECT_NE(storage.find("Immutable"), std::string::npos) << storage;
}

// The builders' objects (operator/specs) are what the API server takes, and applying them again
// unchanged writes nothing: the base of a reconciler that is idle on a converged cluster.
TEST_F(CrdOnApiServer, TheBuiltObjectsAreAcceptedAndASecondApplyWritesNothing) {
  StegoClusterSpec spec;
  spec.ingress = {.enabled = true, .class_name = "traefik", .host = "stego.example"};
  spec.storage = {"PersistentVolumeClaim", "1Gi", std::nullopt};
  auto created = client_->Create(kStego, ns(), Cluster("built", SpecToJson(spec)));
  ASSERT_TRUE(created) << created.error().message;
  const specs::Cluster c{"built", ns(), (*created)["metadata"]["uid"], spec};
  const struct {
    kube::GroupVersionResource gvr;
    Json object;
  } owned[] = {
      {{"", "v1", "services", true}, specs::ClientService(c)},
      {{"", "v1", "services", true}, specs::PeersService(c)},
      {{"", "v1", "services", true}, specs::LeaderService(c)},
      {{"", "v1", "secrets", true}, specs::AuthSecret(c, "cluster-secret-value", "admin-key-value")},
      {{"apps", "v1", "statefulsets", true}, specs::StatefulSet(c)},
      {{"policy", "v1", "poddisruptionbudgets", true}, specs::PodDisruptionBudget(c)},
      {{"networking.k8s.io", "v1", "ingresses", true}, specs::Ingress(c)},
      {{"networking.k8s.io", "v1", "networkpolicies", true}, specs::NetworkPolicy(c)},
  };
  const kube::ApplyOptions as_operator{.field_manager = "stego-operator"};
  for (const auto& [gvr, object] : owned) {
    const std::string what = object["kind"].get<std::string>() + " " + object["metadata"]["name"].get<std::string>();
    auto first = client_->Apply(gvr, ns(), object, as_operator);
    ASSERT_TRUE(first) << what << ": " << first.error().message;
    // Controllers write too (the disruption controller fills a PDB's status): wait until they are done.
    Json settled;
    ASSERT_TRUE(k8stest::Eventually([&] {
      auto before = client_->Get(gvr, ns(), object["metadata"]["name"].get<std::string>());
      std::this_thread::sleep_for(500ms);
      auto after = client_->Get(gvr, ns(), object["metadata"]["name"].get<std::string>());
      if (!before || !after) return false;
      settled = (*after)["metadata"]["resourceVersion"];
      return (*before)["metadata"]["resourceVersion"] == settled;
    }, 30s)) << what;
    auto again = client_->Apply(gvr, ns(), object, as_operator);
    ASSERT_TRUE(again) << what << ": " << again.error().message;
    EXPECT_EQ((*again)["metadata"]["resourceVersion"], settled) << what << " was written again although nothing changed";
  }
}

}  // namespace
}  // namespace stegocluster
