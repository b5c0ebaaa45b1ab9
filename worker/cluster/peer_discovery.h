// PeerDiscovery: where a member with empty storage looks for the cluster, and whether it may found
// one when nobody answers that a cluster exists.
//
// Static list (--peers name=host:port,...): the listed members other than us; the first name
// bootstraps (or a member without peers).
//
// DNS (--peers-dns NAME[:port]): the A records of NAME — in Kubernetes the headless Service
// <set>-peers of the StatefulSet, with publishNotReadyAddresses so that starting pods are listed —
// each with the peer port; our own address (the advertised peer host) left out. NAME is resolved
// again when the last answer is older than kResolveEvery, so pods created or rescheduled later are
// found.
// Bootstrap rule: only StatefulSet ordinal 0 (the member whose name ends in "-0") may bootstrap,
// and only after NAME has resolved (a failed lookup is no proof that nobody else holds the
// cluster). Every other ordinal keeps joining, however long it waits: so a StatefulSet never
// forms two clusters, whatever order its pods start in (OrderedReady starts ordinal 0 alone;
// Parallel starts all at once).
//
// Not thread-safe: the member uses it from one thread at a time (start-up, then the join loop).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cluster {

// CoreDNS's kubernetes plugin answers with a 5 s TTL: asking more often returns the same records,
// and a new pod's record appears within about that time anyway. The join loop retries every
// half second; it would otherwise send each starting pod's lookups to the cluster DNS at 2/s.
inline constexpr std::chrono::seconds kResolveEvery{5};

struct DnsPeers {
  std::string name;        // resolved for A records
  std::uint16_t port = 0;  // every member's peer port
};

class PeerDiscovery {
 public:
  // The static list (possibly empty).
  PeerDiscovery(std::vector<std::pair<std::string, std::string>> peers, std::string self_name);
  // DNS discovery; `self_host` is our own peer address, left out of the answers.
  PeerDiscovery(DnsPeers dns, std::string self_host, std::string self_name);

  // Peer-port addresses (host:port) of the other members; nullopt when NAME does not resolve.
  std::optional<std::vector<std::string>> Peers();
  // Whether this member may bootstrap a new cluster when no peer answers that one exists.
  bool MayBootstrap() const;
  // "--peers-dns NAME" or "--peers", for logs and errors.
  std::string Describe() const;

 private:
  std::optional<std::vector<std::string>> Resolve() const;

  std::vector<std::pair<std::string, std::string>> static_peers_;
  std::optional<DnsPeers> dns_;
  std::string self_host_;
  std::string self_name_;
  std::optional<std::vector<std::string>> resolved_;
  std::chrono::steady_clock::time_point resolved_at_;
};

// The pure parts, unit-tested:
// "stego-2" -> 2 (a StatefulSet pod's ordinal); nullopt when the name has no "-<digits>" suffix.
std::optional<unsigned> StatefulSetOrdinal(std::string_view pod_name);
// A records -> sorted, distinct "host:port" addresses, without `self_host`.
std::vector<std::string> PeerAddresses(const std::vector<std::string>& records, std::uint16_t port,
                                       const std::string& self_host);

}  // namespace cluster
