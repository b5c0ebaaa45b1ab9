#include "worker/cluster/peer_call.h"

// cpprestsdk's U() macro breaks fmt's templates; this is its documented switch to leave it out.
#define _TURN_OFF_PLATFORM_STRING
#include <cpprest/http_client.h>

namespace cluster {

PeerExchange ExchangeWithPeer(const std::string& address, const std::string& method, const std::string& path,
                              const PeerAuth& auth, const HeaderPairs& headers, const std::string& body,
                              std::chrono::milliseconds timeout) {
  namespace wh = web::http;
  try {
    wh::client::http_client_config config;
    config.set_timeout(timeout);
    raft::transport::ConfigurePeerClient(config, auth);
    wh::client::http_client client(web::uri(raft::transport::PeerBaseUri(address, auth)), config);
    wh::http_request req(method);
    req.set_request_uri(path);
    for (const auto& [name, value] : headers) req.headers().add(name, value);
    raft::transport::AuthorizePeerRequest(req, auth);
    if (!body.empty()) {
      const auto type = req.headers().content_type();
      req.set_body(body, type.empty() ? "application/octet-stream" : type);
    }
    wh::http_response resp = client.request(req).get();
    PeerExchange out{resp.status_code(), {}, {}};
    for (const auto& [name, value] : resp.headers()) out.headers.emplace_back(name, value);
    const std::vector<unsigned char> bytes = resp.extract_vector().get();
    out.body.assign(bytes.begin(), bytes.end());
    return out;
  } catch (const std::exception&) {
    return {};
  }
}

PeerReply CallPeer(const std::string& address, const std::string& method, const std::string& path,
                   const PeerAuth& auth, const nlohmann::json& body,
                   std::chrono::milliseconds timeout) {
  HeaderPairs headers;
  if (!body.is_null()) headers.emplace_back("Content-Type", "application/json");
  PeerExchange e = ExchangeWithPeer(address, method, path, auth, headers, body.is_null() ? "" : body.dump(), timeout);
  return {e.status, e.status == 0 ? nlohmann::json() : nlohmann::json::parse(e.body, nullptr, false)};
}

}  // namespace cluster
