// X.509 material for the cluster's TLS, made with OpenSSL: a private CA per cluster, and the
// certificates it signs (the peer port's, shared by every member, and the API's). The operator
// issues them into the cluster's Secret; tests make theirs at run time, so no private key is ever
// committed. Keys are ECDSA P-256: small, and a handshake costs a fraction of an RSA one.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/expected.h"

namespace common {

// The DNS name every member's peer certificate carries and both ends of the peer port check
// (worker/raft/transport/peer_client.h); the operator issues it.
inline constexpr char kPeerName[] = "stego-peer";

// A certificate and its private key, both PEM.
struct CertifiedKey {
  std::string cert_pem;
  std::string key_pem;
};

struct CertificateRequest {
  std::string common_name;
  std::vector<std::string> dns_names{};     // subjectAltName DNS entries
  std::vector<std::string> ip_addresses{};  // subjectAltName IP entries (v4 or v6 text)
  std::chrono::hours validity{24 * 365};
  // Backdated by this much, so that a clock slightly behind the issuer's accepts it at once.
  std::chrono::minutes backdate{5};
};

// A self-signed CA (basicConstraints CA:TRUE, keyCertSign).
Expected<CertifiedKey, std::string> MakeCertificateAuthority(const CertificateRequest& request);

// A leaf signed by `ca`, good for both ends of TLS (extendedKeyUsage serverAuth and clientAuth):
// the peer port's certificate is presented by a member as server and as client alike.
Expected<CertifiedKey, std::string> IssueCertificate(const CertifiedKey& ca, const CertificateRequest& request);

struct CertificateInfo {
  std::chrono::system_clock::time_point not_before;
  std::chrono::system_clock::time_point not_after;
  std::string serial_hex;
};

// The validity and serial of the first certificate in `cert_pem`.
Expected<CertificateInfo, std::string> InspectCertificate(const std::string& cert_pem);

// Whether `cert_pem` was signed by the certificate in `ca_pem`, is valid now, and `key_pem` is
// its key.
bool CertificateValid(const std::string& ca_pem, const std::string& cert_pem, const std::string& key_pem);

}  // namespace common
