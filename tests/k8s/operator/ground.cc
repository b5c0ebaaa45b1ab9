#include "tests/k8s/operator/ground.h"

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "operator/api/stego_cluster.h"
#include "operator/kube/yaml.h"
#include "tests/k8s/client/k8s_test_env.h"
#include "tests/support/http_client.h"

namespace operatortest {
namespace {

namespace res = kube::resources;
using namespace std::chrono_literals;

const kube::GroupVersionResource kCrds{"apiextensions.k8s.io", "v1", "customresourcedefinitions", false};

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) throw std::runtime_error(std::string("run through tests/k8s/operator/e2e.sh: no ") + name);
  return v;
}

void Require(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error(what);
}

}  // namespace

const kube::GroupVersionResource kStegoClusters{std::string(stegocluster::kGroup),
                                                std::string(stegocluster::kVersion),
                                                std::string(stegocluster::kPlural)};

Ground::Ground() {
  dir_ = (std::filesystem::temp_directory_path() / k8stest::UniqueName("stego-operator-ground")).string();
  std::filesystem::create_directories(dir_);
  admin_ = k8stest::AdminClient();
  auto crd = kube::ReadYamlFile(STEGO_SOURCE_DIR "/crds/stegocluster.yaml");
  Require(crd.has_value(), "the CRD: " + (crd ? "" : crd.error()));
  auto applied = admin_->Apply(kCrds, "", *crd, {.field_manager = "operator-test", .force = true});
  Require(applied.has_value(), "applying the CRD: " + (applied ? "" : applied.error().Describe()));
  const std::string established =
      k8stest::Shell("kubectl wait --for=condition=Established crd/stegoclusters.stegocluster.io --timeout=60s");
  Require(established.find("condition met") != std::string::npos, established);
  k8stest::EnsureNamespace(*admin_, kOperatorNamespace);
  const std::string rbac = k8stest::Shell("kubectl apply -f " STEGO_SOURCE_DIR "/manifests/rbac.yaml");
  Require(rbac.find("clusterrole.rbac.authorization.k8s.io/stego-operator") != std::string::npos, rbac);

  // The operator's credentials: its ServiceAccount's token and the cluster's CA, nothing else.
  const std::string token = k8stest::ServiceAccountToken(*admin_, kOperatorNamespace, "stego-operator");
  const kube::Config config = k8stest::AdminConfig();
  std::ofstream(dir_ + "/ca.crt") << config.ca_pem;
  kubeconfig_ = dir_ + "/operator.kubeconfig";
  std::ofstream(kubeconfig_) << "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: "
                             << config.server << "\n    certificate-authority: " << dir_ << "/ca.crt"
                             << "\nusers:\n- name: operator\n  user:\n    token: " << token
                             << "\ncontexts:\n- name: operator\n  context: {cluster: test, user: operator}"
                             << "\ncurrent-context: operator\n";

  podrunner_ = StartPodRunner("podrunner", {"--cluster-dns", "10.244.0.1:53"});
}

std::unique_ptr<ProcessUnderTest> Ground::StartPodRunner(const std::string& name, std::vector<std::string> args) {
  const std::string at = dir_ + "/" + name;
  // Short crash-loop back-off: tests and the benchmark kill members again and again.
  args.insert(args.end(), {"--log-dir", at + "-pods", "--pod-dir", at + "-state", "--image-dir", Env("STEGO_BIN_DIR"),
                           "--backoff-initial", "1s", "--backoff-max", "2s"});
  return std::make_unique<ProcessUnderTest>(ProcessUnderTest::Options{.binary = Env("PODRUNNER_BIN"),
                                                                      .args = std::move(args),
                                                                      .output_path = at + ".log",
                                                                      .keep_output = true,
                                                                      .wait_listening = false,
                                                                      .stop_grace = 20'000ms});
}

void Ground::AddNode(const std::string& name, const std::string& pod_cidr) {
  more_nodes_.push_back(StartPodRunner(name, {"--node-name", name, "--pod-cidr", pod_cidr, "--cluster-dns="}));
}

Ground::~Ground() {
  if (!traefik_dir_.empty()) k8stest::Shell(STEGO_SOURCE_DIR "/tests/ingress/traefik/down.sh " + traefik_dir_);
}

void Ground::StartIngressController() {
  const std::string ingress_class = k8stest::Shell(
      "printf 'apiVersion: networking.k8s.io/v1\\nkind: IngressClass\\nmetadata: {name: traefik}\\n"
      "spec: {controller: traefik.io/ingress-controller}\\n' | kubectl apply -f -");
  Require(ingress_class.find("ingressclass.networking.k8s.io/traefik created") != std::string::npos, ingress_class);
  traefik_dir_ = dir_ + "/traefik";
  const std::string up = k8stest::Shell(STEGO_SOURCE_DIR "/tests/ingress/traefik/up.sh " + traefik_dir_);
  std::ifstream env(traefik_dir_ + "/env");
  for (std::string line; std::getline(env, line);) {
    if (!line.starts_with("TRAEFIK_WEB=")) continue;
    const auto sep = line.rfind(':');
    traefik_host_ = line.substr(line.find('=') + 1, sep - line.find('=') - 1);
    traefik_port_ = static_cast<std::uint16_t>(std::stoi(line.substr(sep + 1)));
  }
  Require(traefik_port_ != 0, "Traefik did not come up: " + up);
}

testsupport::HttpResponse Ground::ThroughIngress(const std::string& host, std::string_view method,
                                                 std::string_view target, std::string_view body,
                                                 testsupport::HeaderList headers, std::chrono::milliseconds timeout) {
  headers.emplace_back("Host", host);
  try {
    testsupport::HttpClient http(traefik_host_, traefik_port_, timeout);
    return http.Request(method, target, body, headers);
  } catch (const std::exception& e) {
    testsupport::HttpResponse failed;
    failed.body = e.what();
    return failed;
  }
}

std::unique_ptr<ProcessUnderTest> Ground::StartOperator(const std::string& identity) {
  return std::make_unique<ProcessUnderTest>(ProcessUnderTest::Options{
      .binary = Env("STEGO_BIN_DIR") + "/stego-operator",
      .args = {"--kubeconfig", kubeconfig_, "--http", "127.0.0.1:0", "--identity", identity, "--log-format", "text",
               "--lease-namespace", kOperatorNamespace, "--lease-duration-ms", "3000", "--renew-deadline-ms", "2000",
               "--retry-period-ms", "500"},
      .output_path = dir_ + "/" + identity + ".log",
      .keep_output = true});
}

testsupport::PromText Ground::Metrics(ProcessUnderTest& op) {
  testsupport::HttpClient http(op.host(), op.port());
  std::string error;
  auto parsed = testsupport::ParsePromText(http.Get("/metrics").body, &error);
  if (!parsed) throw std::runtime_error("operator /metrics: " + error);
  return *parsed;
}

std::string Ground::ApplyCluster(const std::string& ns, const std::string& name, const std::string& spec) {
  return k8stest::Shell("printf 'apiVersion: stegocluster.io/v1alpha1\\nkind: StegoCluster\\nmetadata: {name: " +
                        name + ", namespace: " + ns + "}\\nspec: " + spec + "\\n' | kubectl apply -f -");
}

Json Ground::Cluster(const std::string& ns, const std::string& name) {
  auto got = admin_->Get(kStegoClusters, ns, name);
  return got ? *got : Json();
}

std::string Ground::ConditionOf(const Json& cluster, const std::string& type) {
  if (!cluster.is_object()) return "";
  for (const Json& c : cluster.value("status", Json::object()).value("conditions", Json::array())) {
    if (c.value("type", "") == type) return c.value("status", "") + "/" + c.value("reason", "");
  }
  return "";
}

std::vector<Json> Ground::Pods(const std::string& ns, const std::string& cluster) {
  auto list = admin_->List(res::kPods, ns, {.label_selector = "stegocluster.io/cluster=" + cluster});
  return list ? (*list)["items"].get<std::vector<Json>>() : std::vector<Json>{};
}

std::string Ground::IpOf(const std::string& ns, const std::string& pod) {
  auto got = admin_->Get(res::kPods, ns, pod);
  return got ? (*got)["status"].value("podIP", "") : "";
}

int Ground::PidOf(const std::string& ns, const std::string& pod) {
  auto got = admin_->Get(res::kPods, ns, pod);
  if (!got) return -1;
  const std::string id = (*got)["status"]["containerStatuses"][0].value("containerID", "");  // podrunner://<pid>
  const auto sep = id.find("://");
  return sep == std::string::npos ? -1 : std::stoi(id.substr(sep + 3));
}

std::string Ground::LabelledLeader(const std::string& ns, const std::string& cluster) {
  std::vector<std::string> leaders;
  for (const Json& pod : Pods(ns, cluster)) {
    if (pod["metadata"].value("labels", Json::object()).value("stegocluster.io/role", "") == "leader") {
      leaders.push_back(pod["metadata"]["name"]);
    }
  }
  return leaders.size() == 1 ? leaders[0] : "";
}

std::set<std::string> Ground::SliceAddresses(const std::string& ns, const std::string& service) {
  std::set<std::string> out;
  auto list = admin_->List(res::kEndpointSlices, ns, {.label_selector = "kubernetes.io/service-name=" + service});
  if (!list) return out;
  for (const Json& slice : (*list)["items"]) {
    for (const Json& e : slice.value("endpoints", Json::array())) {
      if (e.value("conditions", Json::object()).value("ready", false)) {
        for (const Json& a : e["addresses"]) out.insert(a.get<std::string>());
      }
    }
  }
  return out;
}

bool Ground::RoutedTo(const std::string& ns, const std::string& cluster, const std::string& leader) {
  if (leader.empty() || LabelledLeader(ns, cluster) != leader) return false;
  return SliceAddresses(ns, cluster + "-leader") == std::set<std::string>{IpOf(ns, leader)};
}

Json Ground::RaftStatus(const std::string& ns, const std::string& pod) {
  try {
    testsupport::HttpClient http(IpOf(ns, pod), 8081, 2s);
    auto answer = http.Get("/raft/status");
    return answer.status == 200 ? answer.Json() : Json();
  } catch (const std::exception&) {
    return Json();  // not answering: being restarted, or gone
  }
}

std::string Ground::SelfDeclaredLeader(const std::string& ns, const std::string& cluster) {
  std::string leader;
  std::uint64_t term = 0;
  for (const Json& pod : Pods(ns, cluster)) {
    const Json s = RaftStatus(ns, pod["metadata"]["name"]);
    if (s.is_object() && s.value("role", "") == "leader" && s.value("term", std::uint64_t{0}) >= term) {
      leader = pod["metadata"]["name"];
      term = s["term"];
    }
  }
  return leader;
}

}  // namespace operatortest
