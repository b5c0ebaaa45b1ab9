// Mutual TLS on the peer port (--peer-tls-cert/--peer-tls-key/--peer-tls-ca): three members form
// a cluster and replicate and dispatch over it; a member whose certificate another CA signed
// cannot join; plain HTTP, a client without a certificate, and a certificate of the right CA that
// does not name stego-peer are all refused. The PKI is made here, at run time.
#include <thread>

#include "tests/cluster/cluster_fixture.h"
#include "tests/support/https_client.h"
#include "tests/support/prometheus_text.h"

namespace clustertest {
namespace {

using testsupport::HttpsRequest;
using testsupport::MakeTestPki;
using testsupport::TestPki;

class PeerMtls : public Cluster {
 protected:
  void SetUp() override {
    pki_dir_ = testsupport::FreshScratchDirectory(
        "peer-tls", ::testing::UnitTest::GetInstance()->current_test_info()->name());
    cluster_ = MakeTestPki("cluster CA", "stego-peer");
    extra_args_ = WriteFiles("member", cluster_);
    Cluster::SetUp();
  }

  void TearDown() override {
    Cluster::TearDown();
    std::filesystem::remove_all(pki_dir_);
  }

  // The flags of a member using `pki`'s CA and leaf, written under `name`.
  std::vector<std::string> WriteFiles(const std::string& name, const TestPki& pki) {
    const auto paths = testsupport::WriteTestPki(pki_dir_ / name, pki);
    return {"--peer-tls-cert", paths.cert, "--peer-tls-key", paths.key, "--peer-tls-ca", paths.ca};
  }

  // One call to a member's peer port as a client presenting `client` (empty: no certificate).
  testsupport::HttpResponse PeerCall(const std::string& name, const common::CertifiedKey& client) {
    return HttpsRequest("127.0.0.1", members_.at(name).peer_port,
                        {.ca_pem = cluster_.ca.cert_pem, .server_name = "stego-peer", .cert_pem = client.cert_pem,
                         .key_pem = client.key_pem},
                        "GET", "/raft/v1/cluster", {}, {{"Authorization", "Bearer " + kSecret}})
        .response;
  }

  double HandshakeFailures(const std::string& name) {
    std::string error;
    const auto metrics = testsupport::ParsePromText(Client(name).Get("/metrics").body, &error);
    EXPECT_TRUE(metrics) << error;
    return metrics ? metrics->Value("http_tls_handshake_failures_total").value_or(0) : -1;
  }

  std::filesystem::path pki_dir_;
  TestPki cluster_;
};

TEST_F(PeerMtls, ThreeMembersFormReplicateAndDispatchOverIt) {
  const std::string leader = WaitLeader();
  WaitFullyFormed();
  ASSERT_EQ(PutConfig(leader, {{"max_pixels", 1234567}}).status, 200);
  for (const auto& [name, m] : members_) {
    EXPECT_TRUE(Eventually([&] { return Config(name)["config"]["max_pixels"] == 1234567; })) << name;
  }
  // Stego jobs through the leader are placed on members over the peer port.
  std::set<std::string> ran_on;
  for (int i = 0; i < 12; ++i) {
    testsupport::MultipartBuilder form;
    form.Field("message", "job " + std::to_string(i));
    const auto r = Client(leader).PostMultipart("/api/v1/embed", form);
    ASSERT_EQ(r.status, 200) << r.body;
    ran_on.insert(r.Header("X-Stego-Member").value_or("?"));
  }
  std::cout << "[ figure ] 12 embeds through the leader ran on " << ran_on.size() << " member(s)\n";
  EXPECT_EQ(HandshakeFailures(leader), 0);
}

TEST_F(PeerMtls, AMemberWithAnotherCasCertificateCannotJoin) {
  const std::string leader = WaitLeader();
  WaitFullyFormed();
  AddMember("node4");
  extra_args_ = WriteFiles("stranger", MakeTestPki("another CA", "stego-peer"));
  Start("node4");
  std::this_thread::sleep_for(3s);  // it keeps asking to join
  EXPECT_EQ(Voters(leader), (std::set<std::string>{"node1", "node2", "node3"}));
  EXPECT_TRUE(RaftStatus(leader)["learners"].empty());
  EXPECT_TRUE(Eventually([&] { return HandshakeFailures(leader) > 0 || HandshakeFailures(Follower(leader)) > 0; }));
  EXPECT_TRUE(RaftStatus("node4")["leader_id"].is_null()) << "the stranger found no cluster";
}

TEST_F(PeerMtls, PlainHttpNoCertificateAndAnotherUseOfTheCaAreRefused) {
  WaitLeader();
  // The member's own certificate: accepted (the bearer is still checked behind it).
  EXPECT_EQ(PeerCall("node1", cluster_.leaf).status, 200);
  // Plain HTTP: a readable refusal, the secret never sent in clear.
  HttpClient plain("127.0.0.1", members_.at("node1").peer_port, 5s);
  const auto refused = plain.Get("/raft/v1/cluster");
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(refused.Json().value("code", ""), "https_required");
  // No client certificate: the handshake fails.
  EXPECT_THROW(PeerCall("node1", {}), std::runtime_error);
  // A certificate of the cluster's CA issued for another name (as the API's would be).
  const auto api_cert = common::IssueCertificate(cluster_.ca, {.common_name = "api", .dns_names = {"localhost"}});
  ASSERT_TRUE(api_cert) << api_cert.error();
  EXPECT_THROW(PeerCall("node1", *api_cert), std::runtime_error);
  // A certificate naming stego-peer from another CA.
  EXPECT_THROW(PeerCall("node1", MakeTestPki("another CA", "stego-peer").leaf), std::runtime_error);
  // Counted when the server's side of the handshake ends, which may be after the client gave up.
  EXPECT_TRUE(Eventually([&] { return HandshakeFailures("node1") >= 3; })) << HandshakeFailures("node1");
}

}  // namespace
}  // namespace clustertest
