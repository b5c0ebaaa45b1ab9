// libFuzzer target for kubeconfig reading (operator/kube/config.h): ParseKubeconfig over arbitrary
// YAML, with the files it names served by a fake reader, so the fuzzer never touches the disk
// (a kubeconfig naming /dev/zero would otherwise hang it).
//
// Input: the kubeconfig text. For every input it checks:
//   1. no crash, exception, leak or undefined behaviour: yaml-cpp's exceptions (bad YAML, a name
//      that is a map) must come back as an error;
//   2. an accepted config is usable: an http(s) server without a trailing slash, a context and a
//      namespace, a client certificate exactly when there is a key, a token file only without a
//      static token, and relative file paths resolved to absolute ones;
//   3. naming the chosen context explicitly gives the same config as current-context did.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "operator/kube/config.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

const std::filesystem::path kBaseDir = "/fuzz/kube";

// Every file "exists" and holds its own path, except those whose name says they are missing.
common::Expected<std::string, std::string> FakeFile(const std::filesystem::path& path, std::string_view what) {
  if (path.string().find("missing") != std::string::npos) {
    return common::Unexpected{std::string(what) + ": cannot read " + path.string()};
  }
  return "FILE:" + path.string();
}

bool Same(const kube::Config& a, const kube::Config& b) {
  return a.server == b.server && a.ca_pem == b.ca_pem && a.client_cert_pem == b.client_cert_pem &&
         a.client_key_pem == b.client_key_pem && a.token == b.token && a.token_file == b.token_file &&
         a.insecure_skip_tls_verify == b.insecure_skip_tls_verify && a.default_namespace == b.default_namespace &&
         a.context == b.context;
}

void CheckUsable(const kube::Config& config) {
  const bool http = config.server.starts_with("http://") || config.server.starts_with("https://");
  FUZZ_CHECK(http);
  FUZZ_CHECK(config.server.size() <= 8 || !config.server.ends_with('/'));
  FUZZ_CHECK(!config.context.empty() && !config.default_namespace.empty());
  FUZZ_CHECK(config.client_cert_pem.empty() == config.client_key_pem.empty());
  FUZZ_CHECK(config.token.empty() || config.token_file.empty());
  FUZZ_CHECK(config.token_file.empty() || std::filesystem::path(config.token_file).is_absolute());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view yaml(reinterpret_cast<const char*>(data), size);
  const kube::ConfigResult config = kube::ParseKubeconfig(yaml, kBaseDir, {}, FakeFile);
  if (!config) {
    FUZZ_CHECK(config.error().starts_with("kubeconfig: "));
    return 0;
  }
  CheckUsable(*config);
  const kube::ConfigResult named = kube::ParseKubeconfig(yaml, kBaseDir, config->context, FakeFile);
  FUZZ_CHECK(named.has_value() && Same(*config, *named));
  return 0;
}
