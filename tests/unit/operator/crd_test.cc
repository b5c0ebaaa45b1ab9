// The CRD (crds/stegocluster.yaml) and the C++ types (operator/api/stego_cluster.h) describe the same
// resource: the same fields, the same defaults, the same limits and enums, the same messages for the
// rules on one object. A field added to one and not the other fails here.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "operator/api/stego_cluster.h"
#include "operator/kube/yaml.h"

namespace stegocluster {
namespace {

const Json& Schema() {
  static const Json schema = [] {
    auto crd = kube::ReadYamlFile(STEGO_CRD_FILE);
    if (!crd) throw std::runtime_error(crd.error());
    return (*crd)["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
  }();
  return schema;
}

// Every optional field set, so that SpecToJson writes every key.
StegoClusterSpec FullSpec() {
  StegoClusterSpec s;
  s.resources = Json{{"requests", {{"cpu", "100m"}}}, {"limits", {{"memory", "1Gi"}}}};
  s.storage.storage_class_name = "fast";
  s.pod.affinity = Json::object();
  s.pod.priority_class_name = "high";
  s.ingress.class_name = "traefik";
  s.ingress.host = "stego.example";
  s.ingress.tls_secret_name = "tls";
  s.auth_secret_name = "keys";
  s.worker.trusted_proxies = {"10.42.0.0/16"};
  return s;
}

// The schema's properties and the JSON's keys are the same sets, level by level (not inside
// pass-through core/v1 values, which the schema leaves open).
void ExpectSameFields(const Json& schema, const Json& value, const std::string& path) {
  const Json& properties = schema["properties"];
  for (const auto& [key, sub] : properties.items()) {
    ASSERT_TRUE(value.contains(key)) << path << "." << key << " is in the CRD, not in the C++ types";
    if (sub.contains("properties") && value[key].is_object()) ExpectSameFields(sub, value[key], path + "." + key);
  }
  for (const auto& [key, sub] : value.items()) {
    EXPECT_TRUE(properties.contains(key)) << path << "." << key << " is in the C++ types, not in the CRD";
  }
}

TEST(CrdTest, TheSpecHasTheSameFieldsAsTheCrd) {
  ExpectSameFields(Schema()["properties"]["spec"], SpecToJson(FullSpec()), "spec");
}

TEST(CrdTest, TheStatusHasTheSameFieldsAsTheCrd) {
  StegoClusterStatus status{
      .leader = "demo-0", .target_leader = "demo-1", .term = 3, .last_leader_transition_time = "2026-12-03T10:00:00Z"};
  status.members.push_back({"demo-0", 7, "Leader", true, 12, 0});
  status.conditions.push_back({"Available", "True", 1, "2026-12-03T10:00:00Z", "QuorumHealthy", "3 of 3"});
  const Json j = StatusToJson(status);
  const Json& schema = Schema()["properties"]["status"];
  ExpectSameFields(schema, j, "status");
  ExpectSameFields(schema["properties"]["members"]["items"], j["members"][0], "status.members[]");
  ExpectSameFields(schema["properties"]["conditions"]["items"], j["conditions"][0], "status.conditions[]");
  EXPECT_EQ(StatusFromJson(j), status) << "the status reads back as written";
}

// Every `default` of the schema is the C++ default at the same place.
void ExpectSameDefaults(const Json& schema, const Json& value, const std::string& path) {
  for (const auto& [key, sub] : schema["properties"].items()) {
    if (sub.contains("default")) {
      ASSERT_TRUE(value.contains(key)) << path << "." << key << " has a CRD default but no C++ one";
      if (sub["default"].is_object()) {
        for (const auto& [inner, v] : sub["default"].items()) EXPECT_EQ(value[key][inner], v) << path << "." << key;
      } else {
        EXPECT_EQ(value[key], sub["default"]) << path << "." << key;
      }
    }
    if (sub.contains("properties") && value.contains(key)) ExpectSameDefaults(sub, value[key], path + "." + key);
  }
}

TEST(CrdTest, TheDefaultsAreTheSame) {
  ExpectSameDefaults(Schema()["properties"]["spec"], SpecToJson(StegoClusterSpec{}), "spec");
  const auto from_empty = SpecFromJson(Json::object());
  ASSERT_TRUE(from_empty) << from_empty.error();
  EXPECT_EQ(SpecToJson(*from_empty), SpecToJson(StegoClusterSpec{})) << "an empty spec takes every default";
}

// The default worker image is the one built with this release (images/build.sh tags it so): a new
// cluster runs the workers of the operator that created it, never a floating "latest".
TEST(CrdTest, TheDefaultImageIsThisRelease) {
  EXPECT_EQ(StegoClusterSpec{}.image, "localhost/stego-worker:" STEGO_VERSION);
}

// Sets `value` at a dotted path of an otherwise empty spec and reads it. The raft rule ties its two
// timings, so the other one is set to where it never decides: the limits of one are tested alone.
bool Accepts(const std::string& path, const Json& value) {
  Json spec = Json::object();
  if (path == "raft.heartbeatMillis") spec["raft"]["electionTimeoutMillis"] = 10'000;
  if (path == "raft.electionTimeoutMillis") spec["raft"]["heartbeatMillis"] = 10;
  std::string pointer = "/" + path;
  for (char& c : pointer) c = c == '.' ? '/' : c;
  spec[Json::json_pointer(pointer)] = value;
  return SpecFromJson(spec).has_value();
}

void ExpectSameLimits(const Json& schema, const std::string& path) {
  for (const auto& [key, sub] : schema["properties"].items()) {
    const std::string at = path.empty() ? key : path + "." + key;
    if (sub.contains("minimum")) {
      const std::int64_t min = sub["minimum"], max = sub["maximum"];
      EXPECT_TRUE(Accepts(at, min)) << at << " = " << min;
      EXPECT_TRUE(Accepts(at, max)) << at << " = " << max;
      EXPECT_FALSE(Accepts(at, min - 1)) << at << " = " << min - 1;
      EXPECT_FALSE(Accepts(at, max + 1)) << at << " = " << max + 1;
    }
    if (sub.contains("enum")) {
      for (const Json& allowed : sub["enum"]) EXPECT_TRUE(Accepts(at, allowed)) << at << " = " << allowed;
      EXPECT_FALSE(Accepts(at, "NotOneOfThem")) << at;
    }
    if (sub.contains("properties")) ExpectSameLimits(sub, at);
  }
}

TEST(CrdTest, TheLimitsAndEnumsAreTheSame) {
  ExpectSameLimits(Schema()["properties"]["spec"], "");
}

// The message of the CEL rule of spec.<field> number `n`.
std::string RuleMessage(const std::string& field, std::size_t n = 0) {
  return Schema()["properties"]["spec"]["properties"][field]["x-kubernetes-validations"][n]["message"];
}

TEST(CrdTest, TheRulesOnOneObjectGiveTheCrdsMessages) {
  auto error = [](const Json& spec) {
    auto read = SpecFromJson(spec);
    return read ? std::string() : read.error();
  };
  EXPECT_NE(error({{"ingress", {{"enabled", true}}}}).find(RuleMessage("ingress")), std::string::npos);
  EXPECT_NE(error({{"ingress", {{"enabled", true}, {"host", ""}}}}).find(RuleMessage("ingress")), std::string::npos);
  EXPECT_EQ(error({{"ingress", {{"enabled", true}, {"host", "stego.example"}}}}), "");
  EXPECT_NE(error({{"raft", {{"heartbeatMillis", 100}, {"electionTimeoutMillis", 299}}}}).find(RuleMessage("raft")),
            std::string::npos);
  EXPECT_EQ(error({{"raft", {{"heartbeatMillis", 100}, {"electionTimeoutMillis", 300}}}}), "");
  EXPECT_NE(error({{"storage", {{"size", "lots"}}}}).find("quantity"), std::string::npos);
  EXPECT_EQ(error({{"storage", {{"size", "20Gi"}}}}), "");
  EXPECT_EQ(error({{"worker", {{"defaultLsbBits", 5}}}}), "spec.worker.defaultLsbBits: must be an integer in [1, 4]");
  const std::string proxies_rule =
      Schema()["properties"]["spec"]["properties"]["worker"]["properties"]["trustedProxies"]["x-kubernetes-validations"][0]
              ["message"];
  EXPECT_EQ(error({{"worker", {{"trustedProxies", {"10.42.0.0/16", "ingress.local"}}}}}),
            "spec.worker.trustedProxies: " + proxies_rule);
  EXPECT_EQ(error({{"worker", {{"trustedProxies", {"10.42.0.0/16", "192.0.2.7", "fd00::/8"}}}}}), "");
  EXPECT_EQ(error({{"worker", {{"trustedProxies", Json(std::vector<std::string>(65, "192.0.2.7"))}}}}),
            "spec.worker.trustedProxies: must be an array of at most 64 strings")
      << "the CRD's maxItems";
  EXPECT_EQ(error({{"pod", {{"env", {{{"value", "x"}}}}}}}), "spec.pod.env: every item needs a name");
  EXPECT_EQ(error({{"pod", {{"labels", {{"a", 1}}}}}}), "spec.pod.labels: must be an object of strings");
  EXPECT_EQ(error(Json::array()), "spec: must be an object");
}

}  // namespace
}  // namespace stegocluster
