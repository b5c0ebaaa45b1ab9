// The client side of the peer port's mutual TLS (raft/transport/peer_client.h), against an
// in-process TLS server: the server's chain must reach the cluster CA and name stego-peer, and
// the client presents its certificate.
#include "worker/cluster/peer_call.h"

#include <gtest/gtest.h>

#include "common/metrics.h"
#include "tests/support/https_client.h"
#include "tests/support/test_helpers.h"
#include "worker/http/server.h"

namespace cluster {
namespace {

using testsupport::MakeTestPki;
using testsupport::TestPki;

class PeerCallTls : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testsupport::FreshScratchDirectory(
        "peer-call", ::testing::UnitTest::GetInstance()->current_test_info()->name());
    cluster_ = MakeTestPki("cluster CA", raft::transport::kPeerName);
    router_.Add("GET", "/raft/v1/cluster", [](http::Request& r) {
      return http::Response::Json(200, {{"bearer", r.Header("Authorization").value_or("")}});
    });
  }
  void TearDown() override {
    if (server_) server_->Stop();
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  // The member's files under `name`: `pki`'s CA and leaf.
  http::TlsFiles Files(const std::string& name, const TestPki& pki) {
    const auto paths = testsupport::WriteTestPki(dir_ / name, pki);
    return {.cert = paths.cert, .key = paths.key, .client_ca = paths.ca};
  }

  // Serves with `files`, requiring client certificates of their CA naming stego-peer.
  std::string Serve(http::TlsFiles files) {
    files.client_name = raft::transport::kPeerName;
    auto tls = http::ServerTls::Load(files);
    EXPECT_TRUE(tls) << tls.error();
    server_ = std::make_unique<http::Server>(http::ServerOptions{.tls = *tls}, router_, metrics_);
    auto port = server_->Start();
    EXPECT_TRUE(port) << port.error();
    return "127.0.0.1:" + std::to_string(port ? *port : 0);
  }

  PeerReply Call(const std::string& address, const http::TlsFiles& client) {
    return CallPeer(address, "GET", "/raft/v1/cluster", {.bearer = "s3cret", .tls = client}, nullptr,
                    std::chrono::seconds(5));
  }

  std::filesystem::path dir_;
  TestPki cluster_;
  http::Router router_;
  common::Metrics metrics_;
  std::unique_ptr<http::Server> server_;
};

TEST_F(PeerCallTls, AMemberCallsAMemberWithTheBearerInsideTls) {
  const http::TlsFiles member = Files("member", cluster_);
  const std::string address = Serve(member);
  const PeerReply r = Call(address, member);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body["bearer"], "Bearer s3cret");
  // Plain HTTP to it gets no answer from the peer code's point of view but a 400, never a 200.
  EXPECT_NE(CallPeer(address, "GET", "/raft/v1/cluster", {.bearer = "s3cret"}, nullptr, std::chrono::seconds(5)).status,
            200);
}

TEST_F(PeerCallTls, AServerOfAnotherCaOrWithoutThePeerNameIsNotTrusted) {
  const http::TlsFiles member = Files("member", cluster_);
  // The same CA, a certificate for localhost and 127.0.0.1 only (the API's, say).
  const auto api = common::IssueCertificate(
      cluster_.ca, {.common_name = "api", .dns_names = {"localhost"}, .ip_addresses = {"127.0.0.1"}});
  ASSERT_TRUE(api);
  const http::TlsFiles unnamed = Files("api", {cluster_.ca, *api});
  const std::string address = Serve(unnamed);
  EXPECT_EQ(Call(address, member).status, 0) << "no stego-peer name: the client refuses";
  server_->Stop();
  server_.reset();
  const std::string stranger = Serve(Files("stranger", MakeTestPki("another CA", raft::transport::kPeerName)));
  EXPECT_EQ(Call(stranger, member).status, 0) << "another CA: the client refuses";
}

}  // namespace
}  // namespace cluster
