// Kubeconfig and in-cluster configuration parsing, and token-file rotation.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "operator/kube/config.h"

namespace {

namespace fs = std::filesystem;

// "hello" / "world" in base64.
constexpr const char* kHello = "aGVsbG8=";
constexpr const char* kWorld = "d29ybGQ=";

std::string Kubeconfig(const std::string& user_fields, const std::string& cluster_extra = "") {
  return "apiVersion: v1\nkind: Config\ncurrent-context: main\n"
         "clusters:\n"
         "- name: prod\n  cluster:\n    server: https://10.0.0.1:6443/\n    certificate-authority-data: " +
         std::string(kHello) + "\n" + cluster_extra +
         "- name: dev\n  cluster:\n    server: http://127.0.0.1:8080\n"
         "contexts:\n"
         "- name: main\n  context:\n    cluster: prod\n    user: alice\n    namespace: team-a\n"
         "- name: other\n  context:\n    cluster: dev\n    user: bob\n"
         "users:\n"
         "- name: alice\n  user:\n" + user_fields +
         "- name: bob\n  user:\n    token: bob-token\n";
}

class TempDir {
 public:
  TempDir() : path_(fs::temp_directory_path() / ("kube-config-test-" + std::to_string(::getpid()) + "-" +
                                                 std::to_string(counter_++))) {
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }
  fs::path Write(const std::string& name, const std::string& content) const {
    std::ofstream(path_ / name) << content;
    return path_ / name;
  }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

TEST(KubeconfigTest, CurrentContextWithInlineCertificates) {
  auto config = kube::ParseKubeconfig(
      Kubeconfig("    client-certificate-data: " + std::string(kHello) + "\n    client-key-data: " + kWorld + "\n"), "/x");
  ASSERT_TRUE(config) << config.error();
  EXPECT_EQ(config->context, "main");
  EXPECT_EQ(config->server, "https://10.0.0.1:6443");  // trailing slash dropped
  EXPECT_EQ(config->ca_pem, "hello");
  EXPECT_EQ(config->client_cert_pem, "hello");
  EXPECT_EQ(config->client_key_pem, "world");
  EXPECT_EQ(config->default_namespace, "team-a");
  EXPECT_TRUE(config->token.empty());
  EXPECT_FALSE(config->insecure_skip_tls_verify);
}

TEST(KubeconfigTest, NamedContextWithTokenAndDefaultNamespace) {
  auto config = kube::ParseKubeconfig(Kubeconfig("    token: t\n"), "/x", "other");
  ASSERT_TRUE(config) << config.error();
  EXPECT_EQ(config->server, "http://127.0.0.1:8080");
  EXPECT_EQ(config->token, "bob-token");
  EXPECT_EQ(config->default_namespace, "default");
  EXPECT_TRUE(config->ca_pem.empty());
}

TEST(KubeconfigTest, FilesAreResolvedAgainstTheKubeconfigDirectory) {
  TempDir dir;
  dir.Write("ca.crt", "CA");
  dir.Write("client.crt", "CERT");
  fs::create_directories(dir.path() / "keys");
  dir.Write("keys/client.key", "KEY");
  dir.Write("token", "file-token\n");
  const auto path = dir.Write(
      "config", "current-context: c\nclusters:\n- name: k\n  cluster:\n    server: https://h\n"
                "    certificate-authority: ca.crt\n    insecure-skip-tls-verify: true\n"
                "contexts:\n- name: c\n  context: {cluster: k, user: u}\n"
                "users:\n- name: u\n  user:\n    client-certificate: client.crt\n    client-key: " +
                    (dir.path() / "keys/client.key").string() + "\n    tokenFile: token\n");
  auto config = kube::LoadKubeconfig(path);
  ASSERT_TRUE(config) << config.error();
  EXPECT_EQ(config->ca_pem, "CA");
  EXPECT_EQ(config->client_cert_pem, "CERT");
  EXPECT_EQ(config->client_key_pem, "KEY");
  EXPECT_EQ(config->token_file, (dir.path() / "token").string());
  EXPECT_TRUE(config->insecure_skip_tls_verify);
  kube::TokenSource tokens(*config);
  EXPECT_EQ(*tokens.Token(), "file-token");
}

TEST(KubeconfigTest, UnusableInputGetsAClearError) {
  const auto error = [](const std::string& yaml, std::string_view context = {}) {
    auto config = kube::ParseKubeconfig(yaml, "/nonexistent", context);
    return config ? std::string("no error") : config.error();
  };
  EXPECT_NE(error("- a\n- b\n").find("not a YAML map"), std::string::npos);
  EXPECT_NE(error("key: [unclosed").find("kubeconfig:"), std::string::npos);
  EXPECT_NE(error("clusters: []\n").find("no current-context"), std::string::npos);
  EXPECT_NE(error(Kubeconfig("    token: t\n"), "missing").find("no context named \"missing\""), std::string::npos);
  EXPECT_NE(error("current-context: c\ncontexts:\n- name: c\n  context: {cluster: k}\n").find("no cluster named \"k\""),
            std::string::npos);
  EXPECT_NE(error("current-context: c\ncontexts:\n- name: c\n  context: {cluster: k}\nclusters:\n- name: k\n  cluster: {}\n")
                .find("has no server"),
            std::string::npos);
  EXPECT_NE(error("current-context: c\ncontexts:\n- name: c\n  context: {cluster: k}\nclusters:\n- name: k\n  cluster: {server: ftp://x}\n")
                .find("not an http(s) URL"),
            std::string::npos);
  EXPECT_NE(error(Kubeconfig("    exec:\n      command: aws\n")).find("uses exec"), std::string::npos);
  EXPECT_NE(error(Kubeconfig("    client-certificate-data: " + std::string(kHello) + "\n")).find("without its key"),
            std::string::npos);
  EXPECT_NE(error(Kubeconfig("    client-certificate-data: '!!notbase64'\n    client-key-data: " + std::string(kHello) + "\n"))
                .find("client-certificate-data: not valid base64"),
            std::string::npos);
  EXPECT_NE(error(Kubeconfig("    client-certificate: missing.crt\n    client-key: missing.key\n"))
                .find("cannot read /nonexistent/missing.crt"),
            std::string::npos);
  EXPECT_NE(error(Kubeconfig("    token: t\n", "    tls-server-name: other\n")).find("tls-server-name"), std::string::npos);
  auto missing = kube::LoadKubeconfig("/nonexistent/kubeconfig");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find("cannot read /nonexistent/kubeconfig"), std::string::npos);
}

kube::EnvLookup Env(std::map<std::string, std::string> vars) {
  return [vars](const char* name) -> std::optional<std::string> {
    auto it = vars.find(name);
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
}

TEST(InClusterConfigTest, ReadsServiceAccountFiles) {
  TempDir sa;
  sa.Write("token", "sa-token\n");
  sa.Write("ca.crt", "BUNDLE");
  sa.Write("namespace", "stego-system\n");
  auto config = kube::InClusterConfig(Env({{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}}),
                                      sa.path());
  ASSERT_TRUE(config) << config.error();
  EXPECT_EQ(config->server, "https://10.96.0.1:443");
  EXPECT_EQ(config->ca_pem, "BUNDLE");
  EXPECT_EQ(config->default_namespace, "stego-system");
  EXPECT_EQ(config->token_file, (sa.path() / "token").string());
  EXPECT_TRUE(config->token.empty());  // always read from the file, so rotation is seen

  auto v6 = kube::InClusterConfig(Env({{"KUBERNETES_SERVICE_HOST", "fd00::1"}, {"KUBERNETES_SERVICE_PORT", "443"}}),
                                  sa.path());
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->server, "https://[fd00::1]:443");
}

TEST(InClusterConfigTest, MissingPiecesAreErrors) {
  TempDir sa;
  const auto env = Env({{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}});
  auto no_env = kube::InClusterConfig(Env({}), sa.path());
  ASSERT_FALSE(no_env);
  EXPECT_NE(no_env.error().find("KUBERNETES_SERVICE_HOST"), std::string::npos);
  auto no_token = kube::InClusterConfig(env, sa.path());
  ASSERT_FALSE(no_token);
  EXPECT_NE(no_token.error().find("token"), std::string::npos);
  sa.Write("token", "t");
  auto no_ca = kube::InClusterConfig(env, sa.path());
  ASSERT_FALSE(no_ca);
  EXPECT_NE(no_ca.error().find("CA bundle"), std::string::npos);
  sa.Write("ca.crt", "CA");
  auto no_namespace = kube::InClusterConfig(env, sa.path());  // the namespace file is optional
  ASSERT_TRUE(no_namespace);
  EXPECT_EQ(no_namespace->default_namespace, "default");
}

TEST(TokenSourceTest, RereadsTheFileWhenItChanges) {
  TempDir dir;
  const auto path = dir.Write("token", "first\n");
  kube::Config config;
  config.token_file = path.string();
  kube::TokenSource tokens(config);
  EXPECT_EQ(*tokens.Token(), "first");
  // Rotation by rename, as kubelet's atomic writer does; the size differs, so even a coarse mtime sees it.
  dir.Write("token.new", "second-token\n");
  fs::rename(dir.path() / "token.new", path);
  EXPECT_EQ(*tokens.Token(), "second-token");
  // While the file is briefly missing the last token stays in use.
  fs::remove(path);
  EXPECT_EQ(*tokens.Token(), "second-token");
  dir.Write("token", "");
  auto empty = tokens.Token();
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().find("is empty"), std::string::npos);

  kube::Config fixed;
  fixed.token = "static";
  EXPECT_EQ(*kube::TokenSource(fixed).Token(), "static");
  kube::Config none;
  EXPECT_EQ(*kube::TokenSource(none).Token(), "");
  kube::Config missing;
  missing.token_file = (dir.path() / "nope").string();
  EXPECT_FALSE(kube::TokenSource(missing).Token());
}

}  // namespace
