// A StegoCluster's Ingress served by a real Ingress controller: Traefik (tests/ingress/traefik/,
// built by its build.sh) reads the test control plane and routes the operator's Ingress to the
// leader Service, on the operator's test ground (ground.h; e2e.sh runs this inside a private network
// namespace). The spec names the IngressClass `traefik`, which the test creates with Traefik's
// controller name, as a user would. Through Traefik's entry point with the Ingress's host: the
// health check and an embed/extract round trip; the member answering is the leader the status
// names, before and after the leader is killed; an unknown host is 404.
#include <gtest/gtest.h>

#include <signal.h>

#include "tests/k8s/client/k8s_test_env.h"
#include "tests/k8s/operator/ground.h"
#include "tests/support/http_client.h"

namespace {

using namespace std::chrono_literals;
using operatortest::Json;
using testsupport::HttpClient;
using testsupport::HttpResponse;
using testsupport::MultipartBuilder;
using testsupport::ProcessUnderTest;

constexpr char kNs[] = "ingress";
constexpr char kHost[] = "stego.test";
constexpr auto kFormDeadline = 180s;
// A new leader, its label, the leader Service's EndpointSlice and Traefik's view of it.
constexpr auto kChangeDeadline = 90s;

class IngressE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ground_ = new operatortest::Ground();
    k8stest::EnsureNamespace(ground_->admin(), kNs);
    operator_ = ground_->StartOperator("operator-a").release();
    ground_->StartIngressController();
  }
  static void TearDownTestSuite() {
    delete operator_;
    delete ground_;
  }
  void TearDown() override {
    if (HasFailure()) {
      std::cerr << "logs kept in " << ground_->logs() << "\n"
                << k8stest::Shell("kubectl -n ingress get stego,ingress,pods,svc,endpointslices -o wide --show-labels");
    }
  }

  static Json Cluster() { return ground_->Cluster(kNs, "web"); }
  static std::string StatusLeader() { return Cluster().value("status", Json::object()).value("leader", ""); }

  // Through the Ingress controller to virtual host `host`.
  static HttpResponse Through(const std::string& host, const std::string& method, const std::string& target,
                              const std::string& body = {}, const std::string& content_type = {}) {
    testsupport::HeaderList headers;
    if (!content_type.empty()) headers.emplace_back("Content-Type", content_type);
    return ground_->ThroughIngress(host, method, target, body, headers);
  }
  // The member that answers through the Ingress, by its own account: its name while it leads.
  static std::string AnsweringLeader() {
    const HttpResponse r = Through(kHost, "GET", "/raft/status");
    if (r.status != 200) return "";
    const Json s = r.Json();
    return s.value("role", "") == "leader" ? s.value("id", "") : "";
  }
  // An embed and the extract of its image through the Ingress; "" when both succeeded.
  static std::string RoundTripFails(const std::string& message) {
    const MultipartBuilder form = MultipartBuilder().Field("message", message);
    const HttpResponse stego = Through(kHost, "POST", "/api/v1/embed", form.Body(), form.ContentType());
    if (stego.status != 200) return "embed: " + std::to_string(stego.status) + " " + stego.body;
    const std::string member = stego.Header("X-Stego-Member").value_or("");
    if (member.rfind("web-", 0) != 0) return "embed ran on \"" + member + "\", no member of the cluster";
    const MultipartBuilder upload = MultipartBuilder().File("file", "s.png", "image/png", stego.body);
    const HttpResponse extracted = Through(kHost, "POST", "/api/v1/extract", upload.Body(), upload.ContentType());
    if (extracted.status != 200) return "extract: " + std::to_string(extracted.status) + " " + extracted.body;
    return extracted.body == message ? "" : "extracted \"" + extracted.body + "\"";
  }

  static inline operatortest::Ground* ground_ = nullptr;
  static inline ProcessUnderTest* operator_ = nullptr;
};

TEST_F(IngressE2E, TheIngressReachesTheLeader) {
  const std::string applied =
      ground_->ApplyCluster(kNs, "web", "{image: stego-worker, ingress: {enabled: true, className: traefik, host: stego.test}}");
  ASSERT_NE(applied.find("stegocluster.stegocluster.io/web created"), std::string::npos) << applied;
  const std::string waited = k8stest::Shell("kubectl -n ingress wait --for=condition=Ready stegocluster/web --timeout=" +
                                            std::to_string(kFormDeadline.count()) + "s");
  ASSERT_NE(waited.find("condition met"), std::string::npos) << waited << Cluster().dump(2);
  const std::string leader = StatusLeader();
  ASSERT_TRUE(k8stest::Eventually([&] { return ground_->RoutedTo(kNs, "web", leader); }, kChangeDeadline));

  // Traefik learns of the Ingress and the leader Service's EndpointSlice from the API server.
  HttpResponse health;
  ASSERT_TRUE(k8stest::Eventually([&] { return (health = Through(kHost, "GET", "/healthz")).status == 200; },
                                  kChangeDeadline))
      << health.status << " " << health.body;
  EXPECT_EQ(health.Json()["status"], "healthy");
  EXPECT_EQ(AnsweringLeader(), leader);
  EXPECT_EQ(RoundTripFails("through Traefik"), "");
  EXPECT_EQ(Through("unknown.test", "GET", "/healthz").status, 404);
}

TEST_F(IngressE2E, AfterKill9TheIngressReachesTheNewLeader) {
  const std::string leader = StatusLeader();
  ASSERT_FALSE(leader.empty());
  ASSERT_EQ(::kill(ground_->PidOf(kNs, leader), SIGKILL), 0);
  std::string next;
  ASSERT_TRUE(k8stest::Eventually([&] {
    next = StatusLeader();
    return !next.empty() && next != leader && AnsweringLeader() == next;
  }, kChangeDeadline)) << "status names \"" << next << "\"; through Traefik: " << Through(kHost, "GET", "/raft/status").body;
  std::string failed;
  EXPECT_TRUE(k8stest::Eventually([&] { return (failed = RoundTripFails("after the failover")).empty(); },
                                  kChangeDeadline)) << failed;
  EXPECT_EQ(AnsweringLeader(), StatusLeader());
}

}  // namespace
