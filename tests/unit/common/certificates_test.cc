#include "common/certificates.h"

#include <gtest/gtest.h>

namespace common {
namespace {

using std::chrono::hours;
using std::chrono::system_clock;

CertifiedKey Ca(const std::string& name) {
  auto ca = MakeCertificateAuthority({.common_name = name, .validity = hours(48)});
  EXPECT_TRUE(ca) << ca.error();
  return ca ? *ca : CertifiedKey{};
}

TEST(Certificates, ALeafChainsToItsCaWithItsOwnKeyOnly) {
  const CertifiedKey ca = Ca("cluster CA");
  auto leaf = IssueCertificate(ca, {.common_name = "stego-peer", .dns_names = {"stego-peer"},
                                    .ip_addresses = {"127.0.0.1", "::1"}});
  ASSERT_TRUE(leaf) << leaf.error();
  EXPECT_TRUE(CertificateValid(ca.cert_pem, leaf->cert_pem, leaf->key_pem));
  const CertifiedKey other = Ca("another CA");
  EXPECT_FALSE(CertificateValid(other.cert_pem, leaf->cert_pem, leaf->key_pem)) << "another CA's chain";
  EXPECT_FALSE(CertificateValid(ca.cert_pem, leaf->cert_pem, ca.key_pem)) << "another key";
  EXPECT_FALSE(CertificateValid(ca.cert_pem, leaf->cert_pem.substr(0, 100), leaf->key_pem)) << "truncated";
}

TEST(Certificates, ValidityIsBackdatedAndSerialsDiffer) {
  const CertifiedKey ca = Ca("cluster CA");
  auto a = IssueCertificate(ca, {.common_name = "a", .validity = hours(24)});
  auto b = IssueCertificate(ca, {.common_name = "b", .validity = hours(24)});
  ASSERT_TRUE(a && b);
  auto info = InspectCertificate(a->cert_pem);
  ASSERT_TRUE(info) << info.error();
  const auto now = system_clock::now();
  EXPECT_LT(info->not_before, now - std::chrono::minutes(4));
  EXPECT_GT(info->not_after, now + hours(23));
  EXPECT_LT(info->not_after, now + hours(25));
  EXPECT_NE(info->serial_hex, InspectCertificate(b->cert_pem)->serial_hex);
  EXPECT_FALSE(InspectCertificate("not a certificate"));
}

TEST(Certificates, AnExpiredLeafIsNotValid) {
  const CertifiedKey ca = Ca("cluster CA");
  auto expired = IssueCertificate(ca, {.common_name = "old", .validity = hours(-1), .backdate = std::chrono::minutes(120)});
  ASSERT_TRUE(expired) << expired.error();
  EXPECT_FALSE(CertificateValid(ca.cert_pem, expired->cert_pem, expired->key_pem));
}

}  // namespace
}  // namespace common
