// Where the Kubernetes API server is and how to authenticate to it: from a kubeconfig file (the
// current context, or a named one) or from inside a pod (service-account token, CA bundle and
// namespace files, KUBERNETES_SERVICE_HOST/PORT). Parsing is pure and returns a clear error for
// every input it cannot use; nothing here talks to the network.
//
// Supported kubeconfig fields: clusters[].cluster.{server, certificate-authority(-data),
// insecure-skip-tls-verify}, users[].user.{token, tokenFile, client-certificate(-data),
// client-key(-data)}, contexts[].context.{cluster, user, namespace}. Relative file paths are
// resolved against the kubeconfig's directory, as kubectl does. Exec and auth-provider plugins,
// basic auth, tls-server-name and proxy-url are refused with an error, never silently ignored.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/expected.h"

namespace kube {

struct Config {
  std::string server{};  // scheme://host[:port], no trailing slash
  std::string ca_pem{};  // PEM bundle that signs the server's certificate; empty: system roots
  std::string client_cert_pem{};
  std::string client_key_pem{};
  std::string token{};       // a static bearer token
  std::string token_file{};  // a bearer token re-read when the file changes (rotated SA tokens)
  bool insecure_skip_tls_verify = false;
  std::string default_namespace = "default";
  std::string context{};  // the kubeconfig context used; "" in-cluster
};

using ConfigResult = common::Expected<Config, std::string>;

// Reads a file the kubeconfig names (CA bundle, client certificate or key); `what` names it in the
// error. Injectable, so tests and the fuzzer (tests/fuzz/kubeconfig_fuzz.cc) never read the disk.
using FileReader =
    std::function<common::Expected<std::string, std::string>(const std::filesystem::path& path, std::string_view what)>;

// Parses kubeconfig text. `context` empty: the file's current-context. `base_dir` resolves relative
// certificate/key/token paths. `read_file` empty: the files are read from the disk.
ConfigResult ParseKubeconfig(std::string_view yaml, const std::filesystem::path& base_dir,
                             std::string_view context = {}, const FileReader& read_file = {});

// Reads and parses one kubeconfig file.
ConfigResult LoadKubeconfig(const std::filesystem::path& path, std::string_view context = {});

// In-cluster configuration. `getenv` is injectable for tests; `sa_dir` holds token, ca.crt and
// namespace (/var/run/secrets/kubernetes.io/serviceaccount in a pod).
using EnvLookup = std::function<std::optional<std::string>(const char* name)>;
inline constexpr const char* kServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";
ConfigResult InClusterConfig(const EnvLookup& getenv, const std::filesystem::path& sa_dir);

// What a controller does at start-up (controller-runtime's order): $KUBECONFIG when set, else
// in-cluster when KUBERNETES_SERVICE_HOST is set, else ~/.kube/config.
ConfigResult LoadDefaultConfig();

// The bearer token to send: the static one, or the token file's content, re-read whenever the
// file's modification time or size changes (kubelet rotates projected tokens by swapping a
// symlink, which both of these notice). Thread-safe.
class TokenSource {
 public:
  explicit TokenSource(const Config& config);
  // Empty string: no token configured. Error: the file cannot be read or is empty.
  common::Expected<std::string, std::string> Token();

 private:
  std::mutex mu_;
  std::string token_;
  std::string file_;
  std::optional<std::filesystem::file_time_type> seen_mtime_;
  std::uintmax_t seen_size_ = 0;
};

}  // namespace kube
