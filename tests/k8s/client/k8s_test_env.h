// Helpers for the client tests against the real test control plane (tests/k8s/controlplane/run.sh
// exports KUBECONFIG, ETCD_ENDPOINT, ...): a Client from the environment, a namespace per suite,
// polling, etcd compaction, and a TCP relay whose connections a test can cut.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "operator/kube/client.h"

namespace k8stest {

// A Client for the control plane in $KUBECONFIG (admin, client certificate); aborts the test
// binary with a message when there is none (the binary must run under run.sh).
std::unique_ptr<kube::Client> AdminClient(kube::ClientOptions options = {});
kube::Config AdminConfig();

// `prefix` + "-" + a suffix unique to this process.
std::string UniqueName(const std::string& prefix);

// Creates the namespace if it does not exist.
void EnsureNamespace(kube::Client& client, const std::string& ns);

// Fixture base: one admin Client and one fresh namespace per test suite (named kPrefix-<unique>,
// so a rerun on the same control plane starts clean).
template <const char* kPrefix>
class NamespacedTest : public ::testing::Test {
 public:
  static const std::string& ns() { return ns_; }

 protected:
  static void SetUpTestSuite() {
    client_ = AdminClient().release();
    ns_ = UniqueName(kPrefix);
    EnsureNamespace(*client_, ns_);
  }
  static void TearDownTestSuite() {
    delete client_;
    client_ = nullptr;
  }
  static inline kube::Client* client_ = nullptr;
  static inline std::string ns_;
};

// A Client with `options` for another server URL than the admin kubeconfig's (same credentials).
std::unique_ptr<kube::Client> AdminClientAt(const std::string& server, kube::ClientOptions options = {});

// A bearer token of service account `name` in `ns` (created without any RBAC grant), from the
// token Secret the controller-manager fills in.
std::string ServiceAccountToken(kube::Client& client, const std::string& ns, const std::string& name);

// Standard output and error of a shell command (kubectl is on run.sh's PATH).
std::string Shell(const std::string& command);

// Polls `condition` every 50 ms until it holds or `timeout` passes.
bool Eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

// Compacts etcd's history up to its current revision (through ETCD_ENDPOINT's JSON gateway), so
// any older resourceVersion is gone. Returns the revision compacted at.
std::int64_t CompactEtcd();

// Restarts the control plane's kube-apiserver (same flags, port and etcd) with
// tests/k8s/controlplane/restart-apiserver.sh on $STEGO_K8S_DIR: SIGTERM, SIGKILL if it is still
// draining connections after `grace`, start, wait for /readyz. Returns "" once it is ready again,
// else what went wrong (the script's own messages are on stderr). The script gets at most
// `timeout`.
std::string RestartApiserver(std::chrono::seconds grace, std::chrono::seconds timeout);

// A TCP relay on 127.0.0.1 to another host:port. Cut() closes every relayed connection (as a
// network failure would); while Block(true) new connections are refused (accepted and closed at
// once). TLS passes through untouched.
class TcpRelay {
 public:
  TcpRelay(std::string target_host, std::uint16_t target_port);
  ~TcpRelay();
  std::uint16_t port() const { return port_; }
  void Cut();
  void Block(bool blocked) { blocked_ = blocked; }
  int connections_seen() const { return seen_; }  // relayed to the target
  // Every connection accepted, also those refused (blocked, or the target not listening): how
  // often clients tried.
  int connections_accepted() const { return accepted_; }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  // A relay to the apiserver of $KUBECONFIG.
  static std::unique_ptr<TcpRelay> ToApiserver();

 private:
  void AcceptLoop();
  void Pump(int from, int to);

  std::string host_;
  std::uint16_t target_port_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> blocked_{false};
  std::atomic<int> seen_{0};
  std::atomic<int> accepted_{0};
  std::mutex mu_;
  std::vector<int> open_fds_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

}  // namespace k8stest
