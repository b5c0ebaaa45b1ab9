#include "worker/app/pre_stop.h"

#include <iostream>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "worker/cluster/peer_call.h"

namespace worker {

int RunPreStop(const WorkerConfig& config) {
  // A worker listening on every address is reached on loopback.
  const bool everywhere = config.http.host == "0.0.0.0" || config.http.host == "::";
  const std::string address = (everywhere ? "127.0.0.1" : config.http.host) + ":" + std::to_string(config.http.port);
  // The admin key travels as the bearer token, the same header the peer calls use; over HTTPS
  // when the API has it, unverified: this is our own process, over the pod's loopback.
  const cluster::PeerAuth auth{.bearer = config.admin_key,
                               .tls = config.tls_cert.empty() ? std::nullopt : std::optional<http::TlsFiles>(http::TlsFiles{})};
  const cluster::PeerReply reply =
      cluster::CallPeer(address, "POST", "/admin/drain", auth, nlohmann::json::object(), kDrainCallTimeout);
  const bool drained = reply.status == 200;
  if (drained) {
    std::cout << "stego-worker --pre-stop: " << reply.body.dump() << "; serving for " << config.drain_ms << " ms\n";
  } else {
    std::cerr << "stego-worker --pre-stop: the drain call to " << address << " answered "
              << (reply.status == 0 ? std::string("nothing") : std::to_string(reply.status) + " " + reply.body.dump())
              << "; waiting " << config.drain_ms << " ms all the same\n";
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(config.drain_ms));
  return drained ? 0 : 1;
}

}  // namespace worker
