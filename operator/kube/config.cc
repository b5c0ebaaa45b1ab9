#include "operator/kube/config.h"

#include "operator/kube/conventions.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <system_error>

namespace kube {
namespace {

using common::Unexpected;
namespace fs = std::filesystem;

common::Expected<std::string, std::string> ReadFile(const fs::path& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Unexpected{std::string(what) + ": cannot read " + path.string()};
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The entry named `name` in a kubeconfig list (clusters, users, contexts); its inner map under `key`.
common::Expected<YAML::Node, std::string> FindNamed(const YAML::Node& root, const char* list, const char* key,
                                                    const std::string& name) {
  const YAML::Node entries = root[list];
  if (entries && !entries.IsSequence()) return Unexpected{std::string("kubeconfig: ") + list + " is not a list"};
  if (entries) {
    for (const auto& entry : entries) {
      if (entry["name"] && entry["name"].as<std::string>() == name) {
        const YAML::Node inner = entry[key];
        if (!inner || inner.IsNull()) return YAML::Node(YAML::NodeType::Map);
        if (!inner.IsMap()) return Unexpected{"kubeconfig: " + std::string(key) + " \"" + name + "\" is not a map"};
        return inner;
      }
    }
  }
  return Unexpected{"kubeconfig: no " + std::string(key) + " named \"" + name + "\" in " + list};
}

std::string Scalar(const YAML::Node& map, const char* key) {
  const YAML::Node n = map[key];
  return n && n.IsScalar() ? n.as<std::string>() : std::string();
}

// A credential given inline as base64 (`<key>-data`) or as a file (`<key>`); data wins, as in kubectl.
common::Expected<std::string, std::string> DataOrFile(const YAML::Node& map, const std::string& key,
                                                      const fs::path& base_dir, const FileReader& read_file) {
  const std::string data = Scalar(map, (key + "-data").c_str());
  if (!data.empty()) {
    auto decoded = DecodeBase64(data);
    if (!decoded) return Unexpected{"kubeconfig: " + key + "-data: " + decoded.error()};
    return decoded;
  }
  const std::string file = Scalar(map, key.c_str());
  if (file.empty()) return std::string();
  const fs::path path = fs::path(file).is_absolute() ? fs::path(file) : base_dir / file;
  return read_file(path, "kubeconfig: " + key);
}

ConfigResult ParseKubeconfigNode(const YAML::Node& root, const fs::path& base_dir, std::string_view wanted,
                                 const FileReader& read_file) {
  if (!root.IsMap()) return Unexpected{std::string("kubeconfig: not a YAML map")};
  Config config;
  config.context = wanted.empty() ? Scalar(root, "current-context") : std::string(wanted);
  if (config.context.empty()) return Unexpected{std::string("kubeconfig: no current-context and no context given")};

  auto context = FindNamed(root, "contexts", "context", config.context);
  if (!context) return Unexpected{context.error()};
  const std::string cluster_name = Scalar(*context, "cluster");
  if (cluster_name.empty()) return Unexpected{"kubeconfig: context \"" + config.context + "\" names no cluster"};
  auto cluster = FindNamed(root, "clusters", "cluster", cluster_name);
  if (!cluster) return Unexpected{cluster.error()};
  if (const std::string ns = Scalar(*context, "namespace"); !ns.empty()) config.default_namespace = ns;

  config.server = Scalar(*cluster, "server");
  if (config.server.empty()) return Unexpected{"kubeconfig: cluster \"" + cluster_name + "\" has no server"};
  if (config.server.rfind("https://", 0) != 0 && config.server.rfind("http://", 0) != 0) {
    return Unexpected{"kubeconfig: server \"" + config.server + "\" is not an http(s) URL"};
  }
  while (config.server.size() > 8 && config.server.back() == '/') config.server.pop_back();
  config.insecure_skip_tls_verify = Scalar(*cluster, "insecure-skip-tls-verify") == "true";
  for (const char* unsupported : {"tls-server-name", "proxy-url"}) {
    if ((*cluster)[unsupported]) {
      return Unexpected{"kubeconfig: cluster \"" + cluster_name + "\" sets " + unsupported + ", which this client does not support"};
    }
  }
  auto ca = DataOrFile(*cluster, "certificate-authority", base_dir, read_file);
  if (!ca) return Unexpected{ca.error()};
  config.ca_pem = std::move(*ca);

  const std::string user_name = Scalar(*context, "user");
  if (user_name.empty()) return config;  // anonymous
  auto user = FindNamed(root, "users", "user", user_name);
  if (!user) return Unexpected{user.error()};
  for (const char* unsupported : {"exec", "auth-provider", "username", "password"}) {
    if ((*user)[unsupported]) {
      return Unexpected{"kubeconfig: user \"" + user_name + "\" uses " + unsupported +
                        ", which this client does not support (use a token or a client certificate)"};
    }
  }
  auto cert = DataOrFile(*user, "client-certificate", base_dir, read_file);
  if (!cert) return Unexpected{cert.error()};
  auto key = DataOrFile(*user, "client-key", base_dir, read_file);
  if (!key) return Unexpected{key.error()};
  if (cert->empty() != key->empty()) {
    return Unexpected{"kubeconfig: user \"" + user_name + "\" has a client certificate without its key, or a key without its certificate"};
  }
  config.client_cert_pem = std::move(*cert);
  config.client_key_pem = std::move(*key);
  config.token = Scalar(*user, "token");
  if (const std::string file = Scalar(*user, "tokenFile"); !file.empty() && config.token.empty()) {
    config.token_file = (fs::path(file).is_absolute() ? fs::path(file) : base_dir / file).string();
  }
  return config;
}

}  // namespace

ConfigResult ParseKubeconfig(std::string_view yaml, const fs::path& base_dir, std::string_view context,
                             const FileReader& read_file) {
  try {
    return ParseKubeconfigNode(YAML::Load(std::string(yaml)), base_dir, context, read_file ? read_file : FileReader(ReadFile));
  } catch (const YAML::Exception& e) {
    return Unexpected{std::string("kubeconfig: ") + e.what()};
  }
}

ConfigResult LoadKubeconfig(const fs::path& path, std::string_view context) {
  auto text = ReadFile(path, "kubeconfig");
  if (!text) return Unexpected{text.error()};
  auto config = ParseKubeconfig(*text, path.parent_path(), context);
  if (!config) return Unexpected{config.error() + " (in " + path.string() + ")"};
  return config;
}

ConfigResult InClusterConfig(const EnvLookup& getenv, const fs::path& sa_dir) {
  const auto host = getenv("KUBERNETES_SERVICE_HOST");
  const auto port = getenv("KUBERNETES_SERVICE_PORT");
  if (!host || host->empty() || !port || port->empty()) {
    return Unexpected{std::string("in-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set")};
  }
  Config config;
  // An IPv6 service address needs brackets in a URL.
  const bool ipv6 = host->find(':') != std::string::npos;
  config.server = "https://" + (ipv6 ? "[" + *host + "]" : *host) + ":" + *port;
  config.token_file = (sa_dir / "token").string();
  TokenSource probe(config);
  if (auto token = probe.Token(); !token) return Unexpected{"in-cluster: " + token.error()};
  auto ca = ReadFile(sa_dir / "ca.crt", "in-cluster CA bundle");
  if (!ca) return Unexpected{ca.error()};
  config.ca_pem = std::move(*ca);
  // The namespace file is optional (a token mounted without it); client-go falls back to "default".
  if (auto ns = ReadFile(sa_dir / "namespace", "namespace"); ns && !ns->empty()) {
    while (!ns->empty() && (ns->back() == '\n' || ns->back() == ' ')) ns->pop_back();
    config.default_namespace = *ns;
  }
  return config;
}

ConfigResult LoadDefaultConfig() {
  const EnvLookup env = [](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    return v ? std::optional<std::string>(v) : std::nullopt;
  };
  if (auto path = env("KUBECONFIG"); path && !path->empty()) {
    if (path->find(':') != std::string::npos) {
      return Unexpected{"KUBECONFIG lists several files (" + *path + "); merging them is not supported"};
    }
    return LoadKubeconfig(*path);
  }
  if (env("KUBERNETES_SERVICE_HOST")) return InClusterConfig(env, kServiceAccountDir);
  if (auto home = env("HOME")) return LoadKubeconfig(fs::path(*home) / ".kube" / "config");
  return Unexpected{std::string("no KUBECONFIG, not in a cluster, and no HOME for ~/.kube/config")};
}

TokenSource::TokenSource(const Config& config) : token_(config.token), file_(config.token_file) {}

common::Expected<std::string, std::string> TokenSource::Token() {
  std::lock_guard lock(mu_);
  if (file_.empty()) return token_;
  std::error_code ec;
  const auto mtime = fs::last_write_time(file_, ec);
  const auto size = ec ? 0 : fs::file_size(file_, ec);
  if (ec) {
    // A token read before stays usable while the file is briefly missing during a rotation.
    if (!token_.empty()) return token_;
    return Unexpected{"token file " + file_ + ": " + ec.message()};
  }
  if (seen_mtime_ && *seen_mtime_ == mtime && seen_size_ == size) return token_;
  auto text = ReadFile(file_, "token file");
  if (!text) return Unexpected{text.error()};
  while (!text->empty() && (text->back() == '\n' || text->back() == '\r' || text->back() == ' ')) text->pop_back();
  if (text->empty()) return Unexpected{"token file " + file_ + " is empty"};
  token_ = std::move(*text);
  seen_mtime_ = mtime;
  seen_size_ = size;
  return token_;
}

}  // namespace kube
