// The peer port's TLS material (spec.tls.peer), level-based: read the two Secrets, decide, write
// only what is missing or due.
//
//   <name>-peer-ca   the cluster's own CA and its key, made once (valid 10 years) and never
//                    rewritten: a new CA would split the members until every pod saw it. One
//                    that does not parse or has expired blocks the cluster (PeerCaInvalid) until
//                    someone deletes it.
//   <name>-peer-tls  the certificate every member presents (DNS names stego-peer, the peers
//                    Service and its pods), its key and the CA certificate. Issued when missing,
//                    not signed by the CA, not matching its key, or within kPeerRenewBefore of its
//                    end (90 days, renewed 30 days ahead). A renewal keeps the CA, so members with
//                    the old and the new certificate keep trusting each other while the kubelet
//                    updates the mounted files, and the workers reload them without a restart.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "common/certificates.h"
#include "common/expected.h"
#include "operator/specs/specs.h"

namespace stegocluster::controller {

inline constexpr std::chrono::hours kPeerCaValidity{24 * 3650};
inline constexpr std::chrono::hours kPeerCertValidity{24 * 90};
inline constexpr std::chrono::hours kPeerRenewBefore{24 * 30};

// What <name>-peer-tls holds.
struct PeerTlsFiles {
  std::string ca_cert_pem;
  common::CertifiedKey leaf;
};

struct PeerTlsPlan {
  common::CertifiedKey ca;
  bool create_ca = false;                      // <name>-peer-ca is missing: create it with `ca`
  std::optional<common::CertifiedKey> leaf{};  // write <name>-peer-tls with it; nullopt: keep
  std::string reason{};                        // why `leaf` is issued
};

// `ca`, `live`: the Secrets' contents, nullopt when a Secret does not exist. An error when the CA
// Secret exists but is unusable (or, rarely, OpenSSL fails).
common::Expected<PeerTlsPlan, std::string> PlanPeerTls(const specs::Cluster& c,
                                                       const std::optional<common::CertifiedKey>& ca,
                                                       const std::optional<PeerTlsFiles>& live,
                                                       std::chrono::system_clock::time_point now);

}  // namespace stegocluster::controller
