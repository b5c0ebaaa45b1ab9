// stego-operator: watches StegoClusters and keeps each one's world as its spec asks
// (operator/controller/). Several replicas may run: a Lease picks the one that acts.
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <fstream>
#include <iostream>
#include <random>
#include <thread>

#include <spdlog/spdlog.h>

#include "common/logging.h"
#include "common/metrics.h"
#include "common/stop_signals.h"
#include "operator/app/options.h"
#include "operator/controller/controller.h"
#include "operator/kube/client.h"
#include "operator/kube/events.h"
#include "operator/kube/leader_election.h"
#include "worker/http/response.h"
#include "worker/http/router.h"
#include "worker/http/server.h"

namespace stegocluster::app {
namespace {

std::string DefaultIdentity() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  std::random_device random;
  return std::string(host) + "_" + std::to_string(random() % 1'000'000);
}

// The Lease's namespace: the flag, else the pod's own (in-cluster), else the kubeconfig's.
std::string LeaseNamespace(const Options& o, const kube::Config& config) {
  if (!o.lease_namespace.empty()) return o.lease_namespace;
  std::ifstream in(std::string(kube::kServiceAccountDir) + "/namespace");
  std::string ns;
  if (in >> ns && !ns.empty()) return ns;
  return config.default_namespace;
}

int Run(const Options& o, sigset_t& stop_signals) {
  auto config = o.kubeconfig.empty() ? kube::LoadDefaultConfig() : kube::LoadKubeconfig(o.kubeconfig);
  if (!config) {
    spdlog::critical("no Kubernetes configuration: {}", config.error());
    return 1;
  }
  auto client = kube::Client::FromConfig(*config);
  if (!client) {
    spdlog::critical("cannot use the Kubernetes configuration: {}", client.error());
    return 1;
  }
  const std::string identity = o.identity.empty() ? DefaultIdentity() : o.identity;

  common::Metrics metrics;
  auto& leading = metrics.GetGauge("stego_operator_leading", "1 while this replica holds the Lease and reconciles.");
  auto& leader_changes = metrics.GetCounter("stego_operator_leader_changes_total",
                                            "Changes of the Lease's holder seen by this replica.");
  std::atomic<controller::Controller*> running{nullptr};

  http::Router router;
  router.Add("GET", "/healthz", [](http::Request&) { return http::Response::Json(200, {{"status", "ok"}}); },
             {.name = "healthz"});
  // Ready: a standby is (it is ready to take over); the leader once its caches are synced.
  router.Add("GET", "/readyz", [&](http::Request&) {
    controller::Controller* c = running.load();
    const bool ready = leading.Value() == 0 || (c && c->Synced());
    return http::Response::Json(ready ? 200 : 503, {{"status", ready ? "ready" : "syncing"}});
  }, {.name = "readyz"});
  router.Add("GET", "/metrics", [&](http::Request&) {
    return http::Response::Text(200, metrics.Render(), std::string(common::kPrometheusContentType));
  }, {.name = "metrics"});
  http::Server server({.host = o.http.host, .port = o.http.port, .io_threads = 1, .compute_threads = 1},
                      router, metrics);
  auto port = server.Start();
  if (!port) {
    spdlog::critical("cannot serve HTTP on {}:{}: {}", o.http.host, o.http.port, port.error());
    return 1;
  }
  spdlog::info("stego-operator {} ({}) against {}; /healthz, /readyz and /metrics listening on {}:{}", STEGO_VERSION, identity,
               (*config).server, o.http.host, *port);

  kube::EventRecorder events(**client, "stegocluster.io/stego-operator", identity);
  std::jthread reconciling;
  auto lead = [&] {
    leading.Set(1);
    reconciling = std::jthread([&](std::stop_token stop) {
      controller::Controller controller(**client, events, metrics, o.controller);
      running = &controller;
      controller.Run(stop);
      running = nullptr;
    });
  };
  auto stop_leading = [&] {
    reconciling.request_stop();
    if (reconciling.joinable()) reconciling.join();
    leading.Set(0);
  };

  std::stop_source stopping;
  // The controller stops as soon as a signal comes, alongside the Lease's release (client-go's order).
  std::stop_callback stop_reconciling(stopping.get_token(), [&] { reconciling.request_stop(); });
  std::jthread signals([&] {
    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    spdlog::info("{}: stopping", strsignal(signal_number));
    stopping.request_stop();
  });

  int exit_code = 0;
  if (!o.leader_elect) {
    lead();
    reconciling.join();
  } else {
    kube::LeaderElector elector(**client,
                                {.ns = LeaseNamespace(o, *config),
                                 .name = o.lease_name,
                                 .identity = identity,
                                 .lease_duration = o.lease_duration,
                                 .renew_deadline = o.renew_deadline,
                                 .retry_period = o.retry_period},
                                {.on_started_leading = lead,
                                 .on_stopped_leading = stop_leading,
                                 .on_new_leader = [&](const std::string& holder) {
                                   leader_changes.Inc();
                                   spdlog::info("the Lease is held by {}", holder.empty() ? "nobody" : holder);
                                 }});
    elector.Run(stopping.get_token());
    if (!stopping.stop_requested()) {
      // Lost the Lease: another replica may already act. Exit, and let a fresh process campaign.
      spdlog::critical("lost the Lease; exiting");
      exit_code = 1;
      kill(getpid(), SIGTERM);  // ends the signal thread's wait
    }
  }
  stop_leading();
  server.Stop();
  server.Join();
  return exit_code;
}

}  // namespace
}  // namespace stegocluster::app

int main(int argc, char** argv) {
  sigset_t stop_signals = common::BlockStopSignals();  // only the signal thread's sigwait takes them

  auto parsed = stegocluster::app::ParseOptions(std::vector<std::string>(argv + 1, argv + argc));
  if (parsed.exit) {
    (parsed.exit_code == 0 ? std::cout : std::cerr) << parsed.text;
    return parsed.exit_code;
  }
  common::ConfigureLogging(parsed.options.log_format, parsed.options.log_level);
  return stegocluster::app::Run(parsed.options, stop_signals);
}
