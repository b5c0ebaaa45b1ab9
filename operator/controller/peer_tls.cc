#include "operator/controller/peer_tls.h"

namespace stegocluster::controller {

common::Expected<PeerTlsPlan, std::string> PlanPeerTls(const specs::Cluster& c,
                                                       const std::optional<common::CertifiedKey>& ca,
                                                       const std::optional<PeerTlsFiles>& live,
                                                       std::chrono::system_clock::time_point now) {
  PeerTlsPlan plan;
  if (ca) {
    auto info = common::InspectCertificate(ca->cert_pem);
    if (!info) return common::Unexpected{"Secret " + specs::PeerCaSecretName(c) + ": ca.crt: " + info.error()};
    if (info->not_after <= now) {
      return common::Unexpected{"Secret " + specs::PeerCaSecretName(c) + ": the CA has expired; delete the Secret "
                                "for a new one (the members reconnect once every pod has the new files)"};
    }
    plan.ca = *ca;
  } else {
    auto made = common::MakeCertificateAuthority(
        {.common_name = c.name + "." + c.ns + " peer CA (stego-operator)", .validity = kPeerCaValidity});
    if (!made) return common::Unexpected{"cannot make the peer CA: " + made.error()};
    plan.ca = std::move(*made);
    plan.create_ca = true;
  }

  if (!live) {
    plan.reason = "missing";
  } else if (live->ca_cert_pem != plan.ca.cert_pem ||
             !common::CertificateValid(plan.ca.cert_pem, live->leaf.cert_pem, live->leaf.key_pem)) {
    plan.reason = "not issued by the cluster's CA for its key, or no longer valid";
  } else if (auto info = common::InspectCertificate(live->leaf.cert_pem); !info || info->not_after - now < kPeerRenewBefore) {
    plan.reason = "due for renewal";
  } else {
    return plan;  // keep
  }
  const std::string peers = c.name + "-peers." + c.ns + ".svc";
  auto leaf = common::IssueCertificate(
      plan.ca, {.common_name = common::kPeerName,
                .dns_names = {common::kPeerName, peers, "*." + peers},
                .validity = kPeerCertValidity});
  if (!leaf) return common::Unexpected{"cannot issue the peer certificate: " + leaf.error()};
  plan.leaf = std::move(*leaf);
  return plan;
}

}  // namespace stegocluster::controller
