// HTTPS on the API port (--tls-cert/--tls-key) against the real binary: the certificate served,
// plain HTTP refused with a readable answer, a replaced pair served to new connections without a
// restart, and a broken replacement ignored. The certificates are made here, at run time.
#include <chrono>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "tests/api/worker_fixture.h"
#include "tests/support/https_client.h"

namespace apitest {
namespace {

using testsupport::HttpsRequest;
using testsupport::MakeTestPki;
using testsupport::TestPki;
using testsupport::TlsClientOptions;
using testsupport::WritePem;
using Clock = std::chrono::steady_clock;

std::string SerialOf(const common::CertifiedKey& key) {
  auto info = common::InspectCertificate(key.cert_pem);
  EXPECT_TRUE(info) << info.error();
  return info ? info->serial_hex : "";
}

class WorkerTls : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testsupport::FreshScratchDirectory("tls", ::testing::UnitTest::GetInstance()->current_test_info()->name());
    pki_ = MakeTestPki("stego test CA");
    WritePem(cert_path(), pki_.leaf.cert_pem);
    WritePem(key_path(), pki_.leaf.key_pem);
  }

  void StartWorker() {
    worker_ = std::make_unique<ProcessUnderTest>(
        WorkerOptions({"--tls-cert", cert_path().string(), "--tls-key", key_path().string()}));
  }

  std::filesystem::path cert_path() const { return dir_ / "tls.crt"; }
  std::filesystem::path key_path() const { return dir_ / "tls.key"; }
  TlsClientOptions Trusting() const { return {.ca_pem = pki_.ca.cert_pem, .server_name = "localhost"}; }

  testsupport::HttpsResult Healthz() {
    return HttpsRequest(worker_->host(), worker_->port(), Trusting(), "GET", "/healthz");
  }

  std::filesystem::path dir_;
  TestPki pki_;
  std::unique_ptr<ProcessUnderTest> worker_;
};

TEST_F(WorkerTls, ServesHttpsWithTheGivenCertificate) {
  StartWorker();
  const auto result = Healthz();
  EXPECT_EQ(result.response.status, 200);
  EXPECT_EQ(result.server_serial_hex, SerialOf(pki_.leaf));
  // A stego call over it, to see a body of some size go both ways.
  MultipartBuilder form;
  form.Field("message", "over TLS");
  const auto embed = HttpsRequest(worker_->host(), worker_->port(), Trusting(), "POST", "/api/v1/embed", form.Body(),
                                  {{"Content-Type", form.ContentType()}}, std::chrono::seconds(60));
  EXPECT_EQ(embed.response.status, 200) << embed.response.body;
}

TEST_F(WorkerTls, ClientsOfAnotherCaDoNotTrustIt) {
  StartWorker();
  const TestPki stranger = MakeTestPki("another CA");
  EXPECT_THROW(HttpsRequest(worker_->host(), worker_->port(), {.ca_pem = stranger.ca.cert_pem}, "GET", "/healthz"),
               std::runtime_error);
  EXPECT_EQ(Healthz().response.status, 200);
}

TEST_F(WorkerTls, PlainHttpGetsAReadableRefusal) {
  StartWorker();
  HttpClient plain(worker_->host(), worker_->port(), std::chrono::seconds(5));
  const HttpResponse r = plain.Get("/healthz", kJson);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.Json().value("code", ""), "https_required") << r.body;
  EXPECT_EQ(r.Header("Connection").value_or(""), "close");
  EXPECT_EQ(Healthz().response.status, 200);
}

TEST_F(WorkerTls, AReplacedPairIsServedToNewConnectionsWithoutRestart) {
  StartWorker();
  ASSERT_EQ(Healthz().server_serial_hex, SerialOf(pki_.leaf));
  const auto rotated = common::IssueCertificate(
      pki_.ca, {.common_name = "localhost", .dns_names = {"localhost"}, .ip_addresses = {"127.0.0.1"}});
  ASSERT_TRUE(rotated) << rotated.error();
  // As a mounted Secret changes: each file replaced whole, the certificate first (for a moment
  // the certificate does not match the key).
  const auto written = Clock::now();
  WritePem(cert_path(), rotated->cert_pem);
  WritePem(key_path(), rotated->key_pem);
  const std::string want = SerialOf(*rotated);
  std::string seen;
  EXPECT_TRUE(testsupport::Eventually([&] { return (seen = Healthz().server_serial_hex) == want; },
                                      std::chrono::seconds(10)))
      << "still serving " << seen << "\n" << worker_->Output();
  const double reload_ms = std::chrono::duration<double, std::milli>(Clock::now() - written).count();
  std::cout << "[ figure ] rotated certificate served after " << reload_ms << " ms\n";
  EXPECT_TRUE(worker_->Running());
}

TEST_F(WorkerTls, ABrokenReplacementKeepsThePreviousCertificate) {
  StartWorker();
  const std::string original = SerialOf(pki_.leaf);
  // Truncated mid-write, in place.
  WritePem(cert_path(), pki_.leaf.cert_pem.substr(0, pki_.leaf.cert_pem.size() / 2), /*in_place=*/true);
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));  // past the reload check interval
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Healthz().server_serial_hex, original);
  // A certificate of another key: refused too.
  const TestPki other = MakeTestPki("stego test CA 2");
  WritePem(cert_path(), other.leaf.cert_pem);
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  EXPECT_EQ(Healthz().server_serial_hex, original);
  EXPECT_NE(worker_->Output().find("do not load"), std::string::npos) << worker_->Output();
  // Once whole again, it is taken.
  WritePem(cert_path(), pki_.leaf.cert_pem);
  EXPECT_TRUE(testsupport::Eventually([&] { return Healthz().response.status == 200; }));
  EXPECT_TRUE(worker_->Running());
}

TEST_F(WorkerTls, AnUnusablePairStopsTheStartWithAClearError) {
  WritePem(key_path(), MakeTestPki("stego test CA 3").leaf.key_pem);  // not the certificate's key
  auto options = WorkerOptions({"--tls-cert", cert_path().string(), "--tls-key", key_path().string()});
  options.wait_listening = false;
  ProcessUnderTest worker(options);
  EXPECT_EQ(worker.WaitExit(std::chrono::seconds(20)), 1);
  EXPECT_NE(worker.Output().find("--tls-cert/--tls-key"), std::string::npos) << worker.Output();
}

}  // namespace
}  // namespace apitest
