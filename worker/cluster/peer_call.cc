#include "worker/cluster/peer_call.h"

// cpprestsdk's U() macro breaks fmt's templates; this is its documented switch to leave it out.
#define _TURN_OFF_PLATFORM_STRING
#include <cpprest/http_client.h>

namespace cluster {

PeerReply CallPeer(const std::string& address, const std::string& method, const std::string& path,
                   const std::string& secret, const nlohmann::json& body,
                   std::chrono::milliseconds timeout) {
  namespace wh = web::http;
  try {
    wh::client::http_client_config config;
    config.set_timeout(timeout);
    wh::client::http_client client(web::uri("http://" + address), config);
    wh::http_request req(method);
    req.set_request_uri(path);
    req.headers().add("Authorization", "Bearer " + secret);
    if (!body.is_null()) req.set_body(body.dump(), "application/json");
    wh::http_response resp = client.request(req).get();
    PeerReply reply{resp.status_code(), nullptr};
    reply.body = nlohmann::json::parse(resp.extract_utf8string(true).get(), nullptr, false);
    return reply;
  } catch (const std::exception&) {
    return {};
  }
}

}  // namespace cluster
