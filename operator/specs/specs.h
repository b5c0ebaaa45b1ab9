// Pure builders: a StegoCluster in, the desired object out, as server-side apply takes it (only the
// fields the operator owns). No API calls, no clock, no randomness: the same cluster always gives
// the same objects, so a converged cluster needs no write, and the pod template depends on the spec
// alone (upgrading the operator does not restart the workers).
//
//   <name>          Service: every ready member (the API)
//   <name>-peers    headless Service: every member, ready or not (peer discovery, --peers-dns)
//   <name>-leader   Service: the pod labelled stegocluster.io/role=leader
//   <name>          StatefulSet: the members (Parallel, OnDelete; the operator picks who restarts)
//   <name>-auth     Secret: cluster secret and admin key, unless spec.auth.secretName names one
//   <name>          PodDisruptionBudget: at most a minority down, so a quorum stays
//   <name>          Ingress to <name>-leader, when enabled
//   <name>-peers    NetworkPolicy: the peer port open to the cluster's own pods only
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "operator/api/stego_cluster.h"

namespace stegocluster::specs {

// The cluster as the builders need it: its identity and its parsed spec.
struct Cluster {
  std::string name;
  std::string ns;
  std::string uid;  // for the owner reference
  StegoClusterSpec spec;
  // The StegoCluster's kubectl.kubernetes.io/restartedAt annotation: the pod template carries it as
  // stegocluster.io/restartedAt (not under kubectl's own key, which `kubectl rollout restart` sets
  // on the StatefulSet and the operator must leave to it), so changing it restarts every member.
  std::string restarted_at{};
};

inline constexpr int kHttpPort = 8081;
inline constexpr int kPeerPort = 7000;
inline constexpr char kRoleLabel[] = "stegocluster.io/role";
inline constexpr char kClusterLabel[] = "stegocluster.io/cluster";

// The labels every owned object carries; the member pods' selector is {kClusterLabel: name}.
Json Labels(const Cluster& c);
Json Selector(const Cluster& c);
// The member pods' selector as a string (status.selector, for the scale subresource and HPA).
std::string SelectorString(const Cluster& c);
// The smallest majority of `replicas` voters.
int Quorum(int replicas);
// The Secret holding the cluster secret and the admin key: the user's, or <name>-auth.
std::string AuthSecretName(const Cluster& c);

Json ClientService(const Cluster& c);
Json PeersService(const Cluster& c);
Json LeaderService(const Cluster& c);
// `replicas`: how many pods it has now (scaling moves it one member at a time: controller/scaling.h);
// spec.replicas when not given.
Json StatefulSet(const Cluster& c, std::optional<int> replicas = std::nullopt);
// Only for <name>-auth: the operator creates it once with fresh values and never writes it again.
Json AuthSecret(const Cluster& c, const std::string& cluster_secret, const std::string& admin_key);
// spec.tls.peer: <name>-peer-ca holds the cluster's CA with its key (only the operator reads it;
// never mounted), <name>-peer-tls the peer certificate, its key and the CA certificate (type
// kubernetes.io/tls, mounted read-only in every member at kPeerTlsDir). PEM text.
inline constexpr char kPeerTlsDir[] = "/etc/stego/peer-tls";
std::string PeerCaSecretName(const Cluster& c);
std::string PeerTlsSecretName(const Cluster& c);
Json PeerCaSecret(const Cluster& c, const std::string& ca_cert_pem, const std::string& ca_key_pem);
Json PeerTlsSecret(const Cluster& c, const std::string& ca_cert_pem, const std::string& cert_pem,
                   const std::string& key_pem);
Json PodDisruptionBudget(const Cluster& c);
Json Ingress(const Cluster& c);
Json NetworkPolicy(const Cluster& c);

}  // namespace stegocluster::specs
