// The contract between the operator and the worker: the arguments and environment the operator
// writes into a member's pod parse as the worker's flags and mean what the StegoCluster said.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "operator/specs/specs.h"
#include "worker/app/config.h"

namespace {

using stegocluster::Json;

// What the kubelet would do: expand $(POD_NAME) and $(POD_IP).
std::string Expand(std::string text) {
  for (const auto& [var, value] : {std::pair{"$(POD_NAME)", "demo-0"}, std::pair{"$(POD_IP)", "10.42.1.7"}}) {
    for (auto at = text.find(var); at != std::string::npos; at = text.find(var)) text.replace(at, std::string(var).size(), value);
  }
  return text;
}

worker::WorkerConfig ParsePodOf(const stegocluster::StegoClusterSpec& spec) {
  const Json sts = stegocluster::specs::StatefulSet({"demo", "ns1", "uid-1", spec});
  const Json& container = sts["spec"]["template"]["spec"]["containers"][0];
  std::vector<std::string> args, environment;
  for (const Json& arg : container["args"]) args.push_back(Expand(arg.get<std::string>()));
  for (const Json& e : container["env"]) {
    const std::string name = e["name"];
    if (e.contains("value")) environment.push_back(name + "=" + Expand(e["value"]));
    // A Secret's key (the cluster secret, the admin key): any value, the parse checks presence.
    if (e.contains("valueFrom") && e["valueFrom"].contains("secretKeyRef")) environment.push_back(name + "=from-the-secret");
  }
  auto parsed = worker::ParseFlags(args, environment);
  EXPECT_TRUE(parsed) << parsed.error();
  return parsed ? parsed->config : worker::WorkerConfig{};
}

TEST(OperatorArguments, TheDefaultSpecGivesTheWorkersDefaultLimits) {
  const worker::WorkerConfig config = ParsePodOf({});
  const worker::WorkerConfig defaults;
  EXPECT_EQ(config.client_limits.concurrency, defaults.client_limits.concurrency);
  EXPECT_EQ(config.client_limits.rate, defaults.client_limits.rate);
  EXPECT_EQ(config.client_limits.burst, defaults.client_limits.burst);
  EXPECT_EQ(config.client_limits.connections, defaults.client_limits.connections);
  EXPECT_TRUE(config.trusted_proxies.empty());
  EXPECT_EQ(config.node_id, "demo-0");
}

TEST(OperatorArguments, TheSpecsLimitsTimingsAndProxiesReachTheWorker) {
  stegocluster::StegoClusterSpec spec;
  spec.worker.max_pixels = 1000;
  spec.worker.client_limits = {.concurrent_requests = 8, .requests_per_second = 20, .burst = 40, .connections = 16};
  spec.worker.trusted_proxies = {"10.42.0.0/16", "fd00::/8"};
  spec.raft = {.heartbeat_millis = 100, .election_timeout_millis = 500};
  const worker::WorkerConfig config = ParsePodOf(spec);
  EXPECT_EQ(config.max_pixels, 1000u);
  EXPECT_EQ(config.client_limits.concurrency, 8u);
  EXPECT_EQ(config.client_limits.rate, 20.0);
  EXPECT_EQ(config.client_limits.burst, 40.0);
  EXPECT_EQ(config.client_limits.connections, 16u);
  EXPECT_EQ(config.trusted_proxies, (std::vector<std::string>{"10.42.0.0/16", "fd00::/8"}));
  EXPECT_EQ(config.raft_heartbeat_ms, 100u);
  EXPECT_EQ(config.raft_election_timeout_ms, 500u);
}

TEST(OperatorArguments, ZeroLimitsMeanNoLimitToo) {
  stegocluster::StegoClusterSpec spec;
  spec.worker.client_limits = {.concurrent_requests = 0, .requests_per_second = 0, .burst = 0, .connections = 0};
  const worker::WorkerConfig config = ParsePodOf(spec);
  EXPECT_EQ(config.client_limits.concurrency, 0u);
  EXPECT_EQ(config.client_limits.connections, 0u);
  EXPECT_FALSE(config.client_limits.any());
}

}  // namespace
