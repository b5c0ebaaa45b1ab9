// The operator's test ground, shared by its end-to-end test and its benchmark: on the control plane
// that run.sh started (inside the private network namespace of e2e.sh), the CRD and
// manifests/rbac.yaml applied, a kubeconfig with the operator ServiceAccount's token (never the
// admin certificate), the pod runner playing the node (with its cluster DNS), stego-operator
// processes, Traefik as the Ingress controller when a test asks for one, and what the tests look
// at: the member pods, the leader label, the EndpointSlices, each member's own Raft view.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "operator/kube/client.h"
#include "tests/support/http_client.h"
#include "tests/support/process_under_test.h"
#include "tests/support/prometheus_text.h"

namespace operatortest {

using Json = nlohmann::json;
using testsupport::ProcessUnderTest;

extern const kube::GroupVersionResource kStegoClusters;
inline constexpr char kOperatorNamespace[] = "stego-system";

class Ground {
 public:
  // Sets everything up; throws std::runtime_error saying what failed.
  Ground();
  ~Ground();  // stops Traefik, the operators and the pod runners (and with them every pod's processes)

  kube::Client& admin() { return *admin_; }
  const std::string& logs() const { return dir_; }  // every process's log is kept here

  // Another node: a second pod runner registering Node `name`, with pod addresses from `pod_cidr`
  // (the first node has 10.244.0.0/24) and the first one's cluster DNS. Pending pods go to
  // whichever runner binds them first, and never to a cordoned node. Stopped with the ground.
  void AddNode(const std::string& name, const std::string& pod_cidr);

  // Traefik (tests/ingress/traefik/up.sh, its binary built by the traefik_binary fixture) reading
  // the control plane, and IngressClass `traefik` naming it as its controller, as a user would
  // create it. Stopped with the ground.
  void StartIngressController();
  // One request through Traefik's `web` entry point to virtual host `host` (an Ingress's host);
  // status 0, with the error as the body, when the connection fails.
  testsupport::HttpResponse ThroughIngress(const std::string& host, std::string_view method, std::string_view target,
                                           std::string_view body = {}, testsupport::HeaderList headers = {},
                                           std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // A stego-operator replica named `identity` (short Lease times: 3 s, renew 2 s, retry 0.5 s).
  std::unique_ptr<ProcessUnderTest> StartOperator(const std::string& identity);
  static testsupport::PromText Metrics(ProcessUnderTest& op);

  // `kubectl apply` of a StegoCluster with this spec (YAML flow style); kubectl's answer.
  std::string ApplyCluster(const std::string& ns, const std::string& name, const std::string& spec);
  Json Cluster(const std::string& ns, const std::string& name);
  static std::string ConditionOf(const Json& cluster, const std::string& type);  // "True/Reason"

  std::vector<Json> Pods(const std::string& ns, const std::string& cluster);
  std::string IpOf(const std::string& ns, const std::string& pod);
  // The pid of the pod's (first) container's process, from the runner's containerID.
  int PidOf(const std::string& ns, const std::string& pod);
  // The one pod labelled leader; "" when none or several are.
  std::string LabelledLeader(const std::string& ns, const std::string& cluster);
  // Ready addresses in the EndpointSlices of Service `service`.
  std::set<std::string> SliceAddresses(const std::string& ns, const std::string& service);
  // The label is on `leader` alone, and the leader Service's slices list its address alone.
  bool RoutedTo(const std::string& ns, const std::string& cluster, const std::string& leader);
  // GET /raft/status on the pod; null when it does not answer.
  Json RaftStatus(const std::string& ns, const std::string& pod);
  // The member that says it leads in the highest term (asked directly); "" when none does.
  std::string SelfDeclaredLeader(const std::string& ns, const std::string& cluster);

 private:
  // A pod runner whose logs and pod directories are named after `name`, with `args` added.
  std::unique_ptr<ProcessUnderTest> StartPodRunner(const std::string& name, std::vector<std::string> args);

  std::string dir_;
  std::unique_ptr<kube::Client> admin_;
  std::string kubeconfig_;
  std::unique_ptr<ProcessUnderTest> podrunner_;
  std::vector<std::unique_ptr<ProcessUnderTest>> more_nodes_;
  std::string traefik_dir_;  // empty until StartIngressController()
  std::string traefik_host_;
  std::uint16_t traefik_port_ = 0;
};

}  // namespace operatortest
