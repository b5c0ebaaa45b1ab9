#include "tests/k8s/client/k8s_test_env.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string_view>

#include <gtest/gtest.h>

#include "operator/kube/transport.h"

namespace k8stest {

kube::Config AdminConfig() {
  auto config = kube::LoadDefaultConfig();
  if (!config || std::getenv("ETCD_ENDPOINT") == nullptr) {
    std::fprintf(stderr, "no test control plane: run under tests/k8s/controlplane/run.sh (%s)\n",
                 config ? "ETCD_ENDPOINT unset" : config.error().c_str());
    std::abort();
  }
  return *config;
}

std::unique_ptr<kube::Client> AdminClient(kube::ClientOptions options) {
  auto client = kube::Client::FromConfig(AdminConfig(), options);
  if (!client) throw std::runtime_error(client.error());
  return std::move(*client);
}

std::string UniqueName(const std::string& prefix) {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return prefix + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(now).count() % 100000);
}

std::unique_ptr<kube::Client> AdminClientAt(const std::string& server, kube::ClientOptions options) {
  kube::Config config = AdminConfig();
  config.server = server;
  auto client = kube::Client::FromConfig(config, options);
  if (!client) throw std::runtime_error(client.error());
  return std::move(*client);
}

void EnsureNamespace(kube::Client& client, const std::string& ns) {
  auto created = client.Create(kube::resources::kNamespaces, "",
                               {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}});
  if (!created && !created.error().AlreadyExists()) throw std::runtime_error(created.error().Describe());
}

std::string ServiceAccountToken(kube::Client& client, const std::string& ns, const std::string& name) {
  const kube::GroupVersionResource service_accounts{"", "v1", "serviceaccounts"};
  auto sa = client.Create(service_accounts, ns,
                          {{"apiVersion", "v1"}, {"kind", "ServiceAccount"}, {"metadata", {{"name", name}}}});
  if (!sa && !sa.error().AlreadyExists()) throw std::runtime_error(sa.error().Describe());
  const std::string secret_name = name + "-token";
  auto secret = client.Create(
      kube::resources::kSecrets, ns,
      {{"apiVersion", "v1"}, {"kind", "Secret"}, {"type", "kubernetes.io/service-account-token"},
       {"metadata", {{"name", secret_name}, {"annotations", {{"kubernetes.io/service-account.name", name}}}}}});
  if (!secret && !secret.error().AlreadyExists()) throw std::runtime_error(secret.error().Describe());
  std::string token;
  const bool filled = Eventually(
      [&] {
        auto got = client.Get(kube::resources::kSecrets, ns, secret_name);
        if (!got || !got->contains("data") || !(*got)["data"].contains("token")) return false;
        auto decoded = kube::DecodeBase64((*got)["data"]["token"].get<std::string>());
        if (decoded) token = *decoded;
        return decoded.has_value();
      },
      std::chrono::seconds(30));
  if (!filled) throw std::runtime_error("no token for service account " + ns + "/" + name);
  return token;
}

std::string Shell(const std::string& command) {
  std::string out;
  if (FILE* pipe = ::popen((command + " 2>&1").c_str(), "r")) {
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
    ::pclose(pipe);
  }
  return out;
}

bool Eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

std::int64_t CompactEtcd() {
  kube::Config etcd;
  etcd.server = std::getenv("ETCD_ENDPOINT");
  auto transport = kube::Transport::Create(etcd, std::chrono::seconds(10));
  if (!transport) throw std::runtime_error(transport.error());
  // A range read answers the store's current revision in its header ("AA==" is the key "\0").
  auto range = (*transport)->Send({"POST", "/v3/kv/range", R"({"key":"AA=="})", "application/json", "application/json"});
  if (!range || range->status != 200) throw std::runtime_error("etcd range failed");
  const std::int64_t revision = std::stoll(kube::Json::parse(range->body)["header"]["revision"].get<std::string>());
  const std::string body = R"({"revision":")" + std::to_string(revision) + R"(","physical":true})";
  auto compacted = (*transport)->Send({"POST", "/v3/kv/compaction", body, "application/json", "application/json"});
  if (!compacted || compacted->status != 200) {
    throw std::runtime_error("etcd compaction failed: " + (compacted ? compacted->body : compacted.error()));
  }
  return revision;
}

std::string RestartApiserver(std::chrono::seconds grace, std::chrono::seconds timeout) {
  const char* run_dir = std::getenv("STEGO_K8S_DIR");
  if (run_dir == nullptr) return "STEGO_K8S_DIR is unset (run under tests/k8s/controlplane/run.sh)";
  std::string script = STEGO_K8S_CONTROLPLANE_DIR "/restart-apiserver.sh";
  std::string dir = run_dir;
  // Everything the child needs is built before fork: after it, only async-signal-safe calls.
  constexpr std::string_view kGrace = "STEGO_K8S_STOP_TIMEOUT=";
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (!std::string_view(*e).starts_with(kGrace)) env.emplace_back(*e);
  }
  env.push_back(std::string(kGrace) + std::to_string(grace.count()));
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  char* argv[] = {script.data(), dir.data(), nullptr};

  const pid_t pid = ::fork();
  if (pid < 0) return "fork failed";
  if (pid == 0) {
    ::setpgid(0, 0);  // its own group, so that a hung script can be killed with its children
    // The apiserver it starts must not inherit this process's sockets (the relay's, the clients'):
    // an inherited client socket would keep connections open after the test closed them.
    ::close_range(3, ~0U, 0);
    ::execve(argv[0], argv, envp.data());
    ::_exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(-pid, SIGKILL);  // (the apiserver runs in a session of its own and is not hit)
      ::waitpid(pid, &status, 0);
      return script + " did not finish within " + std::to_string(timeout.count()) + " s";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "";
  return script + " failed (wait status " + std::to_string(status) + "; its messages are above)";
}

std::unique_ptr<TcpRelay> TcpRelay::ToApiserver() {
  const std::string server = AdminConfig().server;
  const auto port = static_cast<std::uint16_t>(std::stoi(server.substr(server.rfind(':') + 1)));
  return std::make_unique<TcpRelay>("127.0.0.1", port);
}

TcpRelay::TcpRelay(std::string target_host, std::uint16_t target_port)
    : host_(std::move(target_host)), target_port_(target_port) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(listen_fd_, 64) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("relay: cannot listen");
  }
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

TcpRelay::~TcpRelay() {
  stopping_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  ::close(listen_fd_);
  Cut();
  for (auto& t : threads_) t.join();
  for (int fd : open_fds_) ::close(fd);
}

void TcpRelay::Cut() {
  std::lock_guard lock(mu_);
  for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
}

void TcpRelay::AcceptLoop() {
  while (!stopping_) {
    const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    ++accepted_;
    if (stopping_ || blocked_) {
      ::close(client);
      continue;
    }
    const int upstream = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(target_port_);
    ::inet_pton(AF_INET, host_.c_str(), &addr.sin_addr);
    if (::connect(upstream, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(client);
      ::close(upstream);
      continue;
    }
    ++seen_;
    std::lock_guard lock(mu_);
    open_fds_.push_back(client);
    open_fds_.push_back(upstream);
    threads_.emplace_back([this, client, upstream] { Pump(client, upstream); });
  }
}

// Copies both ways until either side closes or Cut() shuts the sockets down.
void TcpRelay::Pump(int a, int b) {
  char buf[16384];
  pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
  for (;;) {
    if (::poll(fds, 2, -1) < 0) break;
    bool done = false;
    for (int i = 0; i < 2 && !done; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n <= 0 || ::send(fds[1 - i].fd, buf, static_cast<std::size_t>(n), MSG_NOSIGNAL) != n) done = true;
    }
    if (done) break;
  }
  ::shutdown(a, SHUT_RDWR);
  ::shutdown(b, SHUT_RDWR);
}

}  // namespace k8stest
