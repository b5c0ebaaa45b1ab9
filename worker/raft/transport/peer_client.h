// How a member's clients (the Raft transport, joins, probes, dispatched jobs) reach another
// member's peer port: the bearer token every call carries, and TLS when the peer port has it.
//
// Trust rule with mutual TLS: a peer is whoever presents a certificate that chains to the
// cluster's CA (the only issuer trusted: the system's CAs are dropped) and names kPeerName
// (a DNS subjectAltName), checked at both ends. Members are dialled by pod IP, which changes at
// every restart and is not known when the shared peer certificate is issued, so the address is
// not what is checked; the fixed name keeps a certificate of the same CA issued for another use
// (the API's serving certificate) off the peer port. Clients send kPeerName as Host and SNI.
#pragma once

#include <optional>
#include <string>

#include "common/certificates.h"
#include "worker/http/tls.h"

namespace web::http {
class http_request;
namespace client {
class http_client_config;
}
}  // namespace web::http

namespace raft::transport {

using common::kPeerName;

struct PeerAuth {
  std::string bearer;  // Authorization: Bearer (the cluster secret)
  // https when set: present cert/key, trust client_ca alone and check kPeerName. With no CA (only
  // the pre-stop hook calling its own process over loopback) the server is not verified.
  std::optional<http::TlsFiles> tls{};
};

// "https://address" or "http://address".
std::string PeerBaseUri(const std::string& address, const PeerAuth& auth);

// TLS of the client's connections; the files are read for each new connection, so a rotated
// certificate is presented without a restart.
void ConfigurePeerClient(web::http::client::http_client_config& config, const PeerAuth& auth);

// Authorization, and with a CA the Host the server's certificate is checked against.
void AuthorizePeerRequest(web::http::http_request& request, const PeerAuth& auth);

}  // namespace raft::transport
