#include "worker/cluster/peer_discovery.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

namespace cluster {

std::optional<unsigned> StatefulSetOrdinal(std::string_view pod_name) {
  const auto dash = pod_name.rfind('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == pod_name.size()) return std::nullopt;
  const std::string_view digits = pod_name.substr(dash + 1);
  // Kubernetes writes ordinals without leading zeros: "web-01" is not a pod of set "web".
  if (digits.size() > 1 && digits.front() == '0') return std::nullopt;
  unsigned ordinal = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), ordinal);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return ordinal;
}

std::vector<std::string> PeerAddresses(const std::vector<std::string>& records, std::uint16_t port,
                                       const std::string& self_host) {
  std::vector<std::string> out;
  for (const auto& host : records) {
    if (host != self_host) out.push_back(host + ":" + std::to_string(port));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

PeerDiscovery::PeerDiscovery(std::vector<std::pair<std::string, std::string>> peers, std::string self_name)
    : static_peers_(std::move(peers)), self_name_(std::move(self_name)) {}

PeerDiscovery::PeerDiscovery(DnsPeers dns, std::string self_host, std::string self_name)
    : dns_(std::move(dns)), self_host_(std::move(self_host)), self_name_(std::move(self_name)) {}

bool PeerDiscovery::MayBootstrap() const {
  if (dns_) return StatefulSetOrdinal(self_name_) == 0u;
  return static_peers_.empty() || static_peers_.front().first == self_name_;
}

std::string PeerDiscovery::Describe() const { return dns_ ? "--peers-dns " + dns_->name : "--peers"; }

std::optional<std::vector<std::string>> PeerDiscovery::Peers() {
  if (!dns_) {
    std::vector<std::string> out;
    for (const auto& [name, address] : static_peers_) {
      if (name != self_name_) out.push_back(address);
    }
    return out;
  }
  const auto now = std::chrono::steady_clock::now();
  if (resolved_at_ != std::chrono::steady_clock::time_point{} && now - resolved_at_ < kResolveEvery) {
    return resolved_;
  }
  auto peers = Resolve();
  if (peers && peers != resolved_) {
    std::string list;
    for (const auto& p : *peers) list += (list.empty() ? "" : ", ") + p;
    spdlog::info("cluster: {} resolves to peers [{}]", dns_->name, list);
  }
  resolved_ = std::move(peers);
  resolved_at_ = now;
  return resolved_;
}

// getaddrinfo, so that /etc/hosts and the pod's resolv.conf (search domains) apply as for any
// program in the pod.
std::optional<std::vector<std::string>> PeerDiscovery::Resolve() const {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* result = nullptr;
  if (const int rc = ::getaddrinfo(dns_->name.c_str(), nullptr, &hints, &result); rc != 0) {
    spdlog::warn("cluster: cannot resolve {}: {}", dns_->name, ::gai_strerror(rc));
    return std::nullopt;
  }
  std::vector<std::string> records;
  for (const addrinfo* a = result; a; a = a->ai_next) {
    char text[INET_ADDRSTRLEN] = {};
    const auto* in = reinterpret_cast<const sockaddr_in*>(a->ai_addr);
    if (::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text)) records.emplace_back(text);
  }
  ::freeaddrinfo(result);
  return PeerAddresses(records, dns_->port, self_host_);
}

}  // namespace cluster
