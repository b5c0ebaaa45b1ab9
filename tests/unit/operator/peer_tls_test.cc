// The peer TLS material's decisions (controller/peer_tls.h): made when missing, kept while good,
// renewed ahead of its end or when it no longer fits the CA, and a broken CA never replaced.
#include "operator/controller/peer_tls.h"

#include <gtest/gtest.h>

namespace stegocluster::controller {
namespace {

using std::chrono::hours;
const specs::Cluster kDemo{"demo", "ns1", "uid-1", {}};
const auto kNow = std::chrono::system_clock::now();

PeerTlsFiles Written(const PeerTlsPlan& plan) { return {plan.ca.cert_pem, *plan.leaf}; }

TEST(PeerTlsPlan, NothingThereMakesTheCaAndAPeerCertificateNamingStegoPeer) {
  auto plan = PlanPeerTls(kDemo, std::nullopt, std::nullopt, kNow);
  ASSERT_TRUE(plan) << plan.error();
  EXPECT_TRUE(plan->create_ca);
  ASSERT_TRUE(plan->leaf);
  EXPECT_EQ(plan->reason, "missing");
  EXPECT_TRUE(common::CertificateValid(plan->ca.cert_pem, plan->leaf->cert_pem, plan->leaf->key_pem));
  const auto info = common::InspectCertificate(plan->leaf->cert_pem);
  ASSERT_TRUE(info);
  EXPECT_GT(info->not_after, kNow + kPeerCertValidity - hours(1));
}

TEST(PeerTlsPlan, GoodMaterialIsKeptAndNothingIsWritten) {
  const auto first = PlanPeerTls(kDemo, std::nullopt, std::nullopt, kNow);
  ASSERT_TRUE(first);
  const auto again = PlanPeerTls(kDemo, first->ca, Written(*first), kNow + hours(24));
  ASSERT_TRUE(again) << again.error();
  EXPECT_FALSE(again->create_ca);
  EXPECT_FALSE(again->leaf);
}

TEST(PeerTlsPlan, RenewsWithinThirtyDaysOfTheEndKeepingTheCa) {
  const auto first = PlanPeerTls(kDemo, std::nullopt, std::nullopt, kNow);
  ASSERT_TRUE(first);
  const auto later = kNow + kPeerCertValidity - kPeerRenewBefore + hours(1);
  const auto renewed = PlanPeerTls(kDemo, first->ca, Written(*first), later);
  ASSERT_TRUE(renewed) << renewed.error();
  EXPECT_FALSE(renewed->create_ca);
  ASSERT_TRUE(renewed->leaf);
  EXPECT_EQ(renewed->reason, "due for renewal");
  EXPECT_EQ(renewed->ca.cert_pem, first->ca.cert_pem);
}

TEST(PeerTlsPlan, ACertificateOfAnotherCaOrKeyIsReissued) {
  const auto first = PlanPeerTls(kDemo, std::nullopt, std::nullopt, kNow);
  const auto other = PlanPeerTls(kDemo, std::nullopt, std::nullopt, kNow);
  ASSERT_TRUE(first && other);
  auto stray = PlanPeerTls(kDemo, first->ca, Written(*other), kNow);
  ASSERT_TRUE(stray);
  EXPECT_TRUE(stray->leaf);
  PeerTlsFiles swapped_key = Written(*first);
  swapped_key.leaf.key_pem = other->leaf->key_pem;
  EXPECT_TRUE(PlanPeerTls(kDemo, first->ca, swapped_key, kNow)->leaf);
  EXPECT_TRUE(PlanPeerTls(kDemo, first->ca, PeerTlsFiles{}, kNow)->leaf) << "a Secret with keys missing";
}

TEST(PeerTlsPlan, AnUnusableCaIsReportedNeverReplaced) {
  EXPECT_FALSE(PlanPeerTls(kDemo, common::CertifiedKey{}, std::nullopt, kNow));
  const auto first = PlanPeerTls(kDemo, std::nullopt, std::nullopt, kNow);
  ASSERT_TRUE(first);
  const auto expired = PlanPeerTls(kDemo, first->ca, std::nullopt, kNow + kPeerCaValidity + hours(24));
  ASSERT_FALSE(expired);
  EXPECT_NE(expired.error().find("expired"), std::string::npos);
}

}  // namespace
}  // namespace stegocluster::controller
