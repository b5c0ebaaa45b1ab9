#include "operator/kube/yaml.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <fstream>
#include <sstream>

namespace kube {
namespace {

using Json = nlohmann::json;

bool IsInteger(const std::string& text) {
  const std::size_t digits = !text.empty() && (text[0] == '-' || text[0] == '+') ? 1 : 0;
  return text.size() > digits && text.size() - digits <= 18 &&
         text.find_first_not_of("0123456789", digits) == std::string::npos;
}

Json ToJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      Json out = Json::object();
      for (const auto& kv : node) out[kv.first.as<std::string>()] = ToJson(kv.second);
      return out;
    }
    case YAML::NodeType::Sequence: {
      Json out = Json::array();
      for (const auto& item : node) out.push_back(ToJson(item));
      return out;
    }
    case YAML::NodeType::Scalar: {
      const std::string text = node.as<std::string>();
      if (node.Tag() == "!") return text;  // quoted
      if (text == "true" || text == "false") return text == "true";
      if (text == "null" || text == "~") return nullptr;
      return IsInteger(text) ? Json(std::stoll(text)) : Json(text);
    }
    default:
      return nullptr;
  }
}

}  // namespace

common::Expected<Json, std::string> ParseYaml(std::string_view text) {
  try {
    return ToJson(YAML::Load(std::string(text)));
  } catch (const YAML::Exception& e) {
    return common::Unexpected{std::string("not valid YAML: ") + e.what()};
  }
}

common::Expected<Json, std::string> ReadYamlFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return common::Unexpected{"cannot read " + path};
  std::stringstream text;
  text << in.rdbuf();
  auto parsed = ParseYaml(text.str());
  if (!parsed) return common::Unexpected{path + ": " + parsed.error()};
  return parsed;
}

}  // namespace kube
