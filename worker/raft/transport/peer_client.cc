#include "worker/raft/transport/peer_client.h"

// cpprestsdk's U() macro breaks fmt's templates; this is its documented switch to leave it out.
#define _TURN_OFF_PLATFORM_STRING
#include <cpprest/http_client.h>
#include <openssl/ssl.h>

namespace raft::transport {

std::string PeerBaseUri(const std::string& address, const PeerAuth& auth) {
  return (auth.tls ? "https://" : "http://") + address;
}

void ConfigurePeerClient(web::http::client::http_client_config& config, const PeerAuth& auth) {
  if (!auth.tls) return;
  // cpprestsdk checks the name in the Host header (AuthorizePeerRequest) with RFC 2818 rules.
  config.set_validate_certificates(!auth.tls->client_ca.empty());
  config.set_ssl_context_callback([files = *auth.tls](boost::asio::ssl::context& ctx) {
    if (!files.client_ca.empty()) {
      // Only the cluster's CA: cpprestsdk has loaded the system's, which must not vouch for a peer.
      SSL_CTX_set_cert_store(ctx.native_handle(), X509_STORE_new());
      ctx.load_verify_file(files.client_ca);
    }
    if (!files.cert.empty()) {
      ctx.use_certificate_chain_file(files.cert);
      ctx.use_private_key_file(files.key, boost::asio::ssl::context::pem);
    }
  });
}

void AuthorizePeerRequest(web::http::http_request& request, const PeerAuth& auth) {
  request.headers().add("Authorization", "Bearer " + auth.bearer);
  if (auth.tls && !auth.tls->client_ca.empty()) request.headers().add("Host", kPeerName);
}

}  // namespace raft::transport
