// YAML documents as JSON objects (the shape the API server takes): manifests, CRDs, kubeconfig-like
// files. Plain scalars that read as booleans, integers or null become those; quoted ones stay text.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/expected.h"

namespace kube {

// The first document of `text`, or what is wrong with it.
common::Expected<nlohmann::json, std::string> ParseYaml(std::string_view text);
common::Expected<nlohmann::json, std::string> ReadYamlFile(const std::string& path);

}  // namespace kube
