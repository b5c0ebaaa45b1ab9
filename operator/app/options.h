// The stego-operator process's flags.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/expected.h"
#include "common/host_port.h"
#include "operator/controller/controller.h"

namespace stegocluster::app {

struct Options {
  std::string kubeconfig;  // "": $KUBECONFIG, else in-cluster, else ~/.kube/config
  common::HostPort http{"0.0.0.0", 8080};  // /healthz, /readyz, /metrics
  bool leader_elect = true;
  std::string lease_namespace;  // "": the pod's namespace (in-cluster), else "default"
  std::string lease_name = "stego-operator";
  std::string identity;  // "": host name + a random suffix
  std::chrono::milliseconds lease_duration{15'000};
  std::chrono::milliseconds renew_deadline{10'000};
  std::chrono::milliseconds retry_period{2'000};
  controller::ControllerOptions controller{};
  std::string log_format = "json";
  std::string log_level = "info";
};

// What to do: run with the options, or print `text` and exit with `exit_code` (--help, --version,
// a bad flag).
struct Parsed {
  Options options{};
  bool exit = false;
  int exit_code = 0;
  std::string text{};
};

Parsed ParseOptions(const std::vector<std::string>& args);

}  // namespace stegocluster::app
