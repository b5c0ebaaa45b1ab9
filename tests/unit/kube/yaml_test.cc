// YAML documents read as the JSON the API server takes.
#include "operator/kube/yaml.h"

#include <gtest/gtest.h>

namespace kube {
namespace {

TEST(YamlTest, PlainScalarsTakeTheirTypesAndQuotedOnesStayText) {
  const auto doc = ParseYaml(R"(
replicas: 3
negative: -7
enabled: true
version: "3"
status: "True"
empty: null
name: demo
size: 1Gi
items: [1, "two", false]
nested: {a: {b: 1.5}}
)");
  ASSERT_TRUE(doc) << doc.error();
  EXPECT_EQ((*doc)["replicas"], 3);
  EXPECT_EQ((*doc)["negative"], -7);
  EXPECT_EQ((*doc)["enabled"], true);
  EXPECT_EQ((*doc)["version"], "3") << "quoted";
  EXPECT_EQ((*doc)["status"], "True") << "quoted";
  EXPECT_TRUE((*doc)["empty"].is_null());
  EXPECT_EQ((*doc)["name"], "demo");
  EXPECT_EQ((*doc)["size"], "1Gi");
  EXPECT_EQ((*doc)["items"], nlohmann::json::array({1, "two", false}));
  EXPECT_EQ((*doc)["nested"]["a"]["b"], "1.5") << "only integers are numbers";
}

TEST(YamlTest, BrokenYamlAndMissingFilesAreErrors) {
  const auto broken = ParseYaml("a: [1, 2");
  ASSERT_FALSE(broken);
  EXPECT_NE(broken.error().find("not valid YAML"), std::string::npos) << broken.error();
  const auto missing = ReadYamlFile("/nonexistent/crd.yaml");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find("/nonexistent/crd.yaml"), std::string::npos);
}

}  // namespace
}  // namespace kube
