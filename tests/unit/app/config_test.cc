#include "worker/app/config.h"

#include <gtest/gtest.h>

#include "worker/cluster/peer_discovery.h"

namespace worker {
namespace {

TEST(ParseFlags, DefaultsServeLoopback8081WithOneThreadPerCore) {
  auto parsed = ParseFlags({}, {});
  ASSERT_TRUE(parsed) << parsed.error();
  EXPECT_EQ(parsed->config.http.host, "127.0.0.1");
  EXPECT_EQ(parsed->config.http.port, 8081);
  EXPECT_GE(parsed->config.threads, 1u);
  EXPECT_EQ(parsed->config.queue_depth, 256u) << "a count cap only; memory is the bound";
  EXPECT_EQ(parsed->config.queue_memory_bytes, DefaultQueueMemoryBytes());
  EXPECT_EQ(parsed->config.compute_nice, 10);
  EXPECT_FALSE(parsed->config.node_id.empty());
}

TEST(QueueMemory, IsAQuarterOfTheTighterLimitAndAtMostTwoGiB) {
  constexpr uint64_t kGiB = 1ull << 30;
  EXPECT_EQ(QueueMemoryFromLimits(24 * kGiB, 0), 2 * kGiB) << "a big machine: the cap";
  EXPECT_EQ(QueueMemoryFromLimits(4 * kGiB, 0), kGiB);
  EXPECT_EQ(QueueMemoryFromLimits(24 * kGiB, 512 << 20), 128u << 20) << "a pod's cgroup limit wins";
  EXPECT_EQ(QueueMemoryFromLimits(4 * kGiB, 0x7FFFFFFFFFFFF000ull), kGiB) << "cgroup v1's 'unlimited'";
  EXPECT_EQ(QueueMemoryFromLimits(0, 0), 2 * kGiB) << "nothing readable";
  EXPECT_GT(DefaultQueueMemoryBytes(), 0u);
}

TEST(ParseFlags, QueueMemoryAndComputeNiceComeFromFlagsOrTheEnvironment) {
  auto parsed = ParseFlags({"--compute-nice", "0"}, {"STEGO_QUEUE_MEMORY_BYTES=1000000", "STEGO_QUEUE_DEPTH=3"});
  ASSERT_TRUE(parsed) << parsed.error();
  EXPECT_EQ(parsed->config.queue_memory_bytes, 1'000'000u);
  EXPECT_EQ(parsed->config.queue_depth, 3u);
  EXPECT_EQ(parsed->config.compute_nice, 0);
  EXPECT_FALSE(ParseFlags({"--compute-nice", "20"}, {}));
  EXPECT_FALSE(ParseFlags({"--queue-depth", "0"}, {}));
}

TEST(ParseFlags, EnvironmentSetsEveryFlagAndCommandLineWins) {
  auto parsed = ParseFlags({"--max-pixels", "1000"},
                           {"STEGO_MAX_PIXELS=5000", "STEGO_NODE_ID=n7", "STEGO_HTTP=0.0.0.0:9000",
                            "STEGO_MAX_UPLOAD_BYTES=4096", "STEGO_LOG_FORMAT=json", "STEGO_ADMIN_KEY=k",
                            "PATH=/usr/bin", "STEGO_UNKNOWN=1"});
  ASSERT_TRUE(parsed) << parsed.error();
  EXPECT_EQ(parsed->config.max_pixels, 1000u);
  EXPECT_EQ(parsed->config.node_id, "n7");
  EXPECT_EQ(parsed->config.http.host, "0.0.0.0");
  EXPECT_EQ(parsed->config.http.port, 9000);
  EXPECT_EQ(parsed->config.max_upload_bytes, 4096u);
  EXPECT_EQ(parsed->config.log_format, "json");
  EXPECT_EQ(parsed->config.admin_key, "k");
}

TEST(ParseFlags, ClusterMembershipTakesThePeerListAndTheSecretFromTheEnvironment) {
  auto parsed = ParseFlags({"--peer", "127.0.0.1:5002", "--data-dir", "/tmp/d", "--peers",
                            "node1=127.0.0.1:5001,node2=127.0.0.1:5002"},
                           {"STEGO_CLUSTER_SECRET=s"});
  ASSERT_TRUE(parsed) << parsed.error();
  EXPECT_EQ(parsed->config.peer.port, 5002);
  EXPECT_EQ(parsed->config.cluster_secret, "s");
  ASSERT_EQ(parsed->config.peers.size(), 2u);
  EXPECT_EQ(parsed->config.peers[0], (std::pair<std::string, std::string>{"node1", "127.0.0.1:5001"}));
}

TEST(ParseFlags, ClusterMembershipRefusesWhatCannotWork) {
  const std::vector<std::string> env = {"STEGO_CLUSTER_SECRET=s"};
  auto no_dir = ParseFlags({"--peer", "127.0.0.1:5001"}, env);
  ASSERT_FALSE(no_dir);
  EXPECT_NE(no_dir.error().find("--data-dir"), std::string::npos);
  auto no_secret = ParseFlags({"--peer", "127.0.0.1:5001", "--data-dir", "/tmp/d"}, {});
  ASSERT_FALSE(no_secret);
  EXPECT_NE(no_secret.error().find("--cluster-secret"), std::string::npos);
  EXPECT_FALSE(ParseFlags({"--peer", "127.0.0.1:0", "--data-dir", "/tmp/d"}, env));
  EXPECT_FALSE(ParseFlags({"--peer", "127.0.0.1:5001", "--data-dir", "/tmp/d", "--http", "127.0.0.1:0"}, env));
  auto twice = ParseFlags({"--peers", "a=h:1,a=h:2"}, {});
  ASSERT_FALSE(twice);
  EXPECT_NE(twice.error().find("twice"), std::string::npos);
  EXPECT_FALSE(ParseFlags({"--peers", "a=h"}, {}));
}

TEST(ParseFlags, TlsFilesComeInPairsOrThreesAndFromTheEnvironmentToo) {
  auto https = ParseFlags({"--tls-cert", "/tls/tls.crt"}, {"STEGO_TLS_KEY=/tls/tls.key"});
  ASSERT_TRUE(https) << https.error();
  EXPECT_EQ(https->config.tls_cert, "/tls/tls.crt");
  EXPECT_EQ(https->config.tls_key, "/tls/tls.key");
  const auto half = ParseFlags({"--tls-cert", "/tls/tls.crt"}, {});
  ASSERT_FALSE(half);
  EXPECT_NE(half.error().find("both or neither"), std::string::npos) << half.error();

  const std::vector<std::string> member = {"--peer", "127.0.0.1:5001", "--data-dir", "/tmp/x"};
  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.begin(), member.begin(), member.end());
    return ParseFlags(extra, {"STEGO_CLUSTER_SECRET=s"});
  };
  auto mtls = with({"--peer-tls-cert", "c", "--peer-tls-key", "k", "--peer-tls-ca", "ca"});
  ASSERT_TRUE(mtls) << mtls.error();
  EXPECT_EQ(mtls->config.peer_tls_ca, "ca");
  const auto two = with({"--peer-tls-cert", "c", "--peer-tls-key", "k"});
  ASSERT_FALSE(two);
  EXPECT_NE(two.error().find("all three or none"), std::string::npos) << two.error();
  EXPECT_FALSE(ParseFlags({"--peer-tls-cert", "c", "--peer-tls-key", "k", "--peer-tls-ca", "ca"}, {}))
      << "a standalone worker has no peer port";
}

TEST(ParseFlags, PeersDnsTakesANameAndDefaultsToOurPeerPort) {
  const std::vector<std::string> env = {"STEGO_CLUSTER_SECRET=s"};
  auto plain = ParseFlags({"--peer", "10.0.0.5:5001", "--data-dir", "/tmp/d", "--peers-dns", "stego-peers"}, env);
  ASSERT_TRUE(plain) << plain.error();
  EXPECT_EQ(plain->config.peers_dns.host, "stego-peers");
  EXPECT_EQ(plain->config.peers_dns.port, 5001);
  EXPECT_TRUE(plain->config.peers.empty());
  auto ported = ParseFlags({"--peer", "10.0.0.5:5001", "--data-dir", "/tmp/d"},
                           {"STEGO_CLUSTER_SECRET=s", "STEGO_PEERS_DNS=stego-peers.ns.svc.cluster.local:7000"});
  ASSERT_TRUE(ported) << ported.error();
  EXPECT_EQ(ported->config.peers_dns.host, "stego-peers.ns.svc.cluster.local");
  EXPECT_EQ(ported->config.peers_dns.port, 7000);
  EXPECT_TRUE(ParseFlags({}, {})->config.peers_dns.host.empty()) << "not used unless asked for";
}

TEST(ParseFlags, PeersDnsRefusesWhatCannotWork) {
  const std::vector<std::string> env = {"STEGO_CLUSTER_SECRET=s"};
  const std::vector<std::string> member = {"--peer", "10.0.0.5:5001", "--data-dir", "/tmp/d"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = member;
    args.insert(args.end(), extra.begin(), extra.end());
    return ParseFlags(args, env);
  };
  auto both = with({"--peers-dns", "stego-peers", "--peers", "a=h:1"});
  ASSERT_FALSE(both);
  EXPECT_NE(both.error().find("alternatives"), std::string::npos) << both.error();
  auto no_peer = ParseFlags({"--peers-dns", "stego-peers"}, env);
  ASSERT_FALSE(no_peer);
  EXPECT_NE(no_peer.error().find("--peer"), std::string::npos) << no_peer.error();
  for (const char* bad : {"stego-peers:", "stego-peers:0", "stego-peers:70000", ":5001"}) {
    auto parsed = with({"--peers-dns", bad});
    ASSERT_FALSE(parsed) << bad;
    EXPECT_NE(parsed.error().find("--peers-dns"), std::string::npos) << parsed.error();
  }
}

TEST(PeerDiscovery, OnlyStatefulSetOrdinalZeroBootstrapsWithDns) {
  using cluster::StatefulSetOrdinal;
  EXPECT_EQ(StatefulSetOrdinal("stego-0"), 0u);
  EXPECT_EQ(StatefulSetOrdinal("my-stego-12"), 12u);
  for (const char* name : {"stego", "node1", "stego-", "-0", "stego-01", "stego-x", "stego-1a"}) {
    EXPECT_FALSE(StatefulSetOrdinal(name)) << name;
  }
  auto dns = [](const char* name) { return cluster::PeerDiscovery({"stego-peers", 5001}, "10.0.0.5", name); };
  EXPECT_TRUE(dns("stego-0").MayBootstrap());
  EXPECT_FALSE(dns("stego-1").MayBootstrap());
  EXPECT_FALSE(dns("stego-10").MayBootstrap());
  EXPECT_FALSE(dns("stego").MayBootstrap());
}

TEST(PeerDiscovery, StaticListBootstrapsItsFirstNameAndAsksTheOthers) {
  const std::vector<std::pair<std::string, std::string>> list = {{"a", "h1:1"}, {"b", "h2:2"}, {"c", "h3:3"}};
  cluster::PeerDiscovery first(list, "a");
  EXPECT_TRUE(first.MayBootstrap());
  EXPECT_EQ(first.Peers(), (std::vector<std::string>{"h2:2", "h3:3"}));
  cluster::PeerDiscovery second(list, "b");
  EXPECT_FALSE(second.MayBootstrap());
  EXPECT_EQ(second.Peers(), (std::vector<std::string>{"h1:1", "h3:3"}));
  EXPECT_TRUE(cluster::PeerDiscovery({}, "alone").MayBootstrap());
}

TEST(PeerDiscovery, ARecordsBecomePeerAddressesWithoutOurOwn) {
  EXPECT_EQ(cluster::PeerAddresses({"10.0.0.7", "10.0.0.5", "10.0.0.6", "10.0.0.7"}, 5001, "10.0.0.5"),
            (std::vector<std::string>{"10.0.0.6:5001", "10.0.0.7:5001"}));
  EXPECT_TRUE(cluster::PeerAddresses({"10.0.0.5"}, 5001, "10.0.0.5").empty());
  // Through the resolver: localhost has an A record everywhere (/etc/hosts).
  cluster::PeerDiscovery dns({"localhost", 5001}, "10.0.0.5", "stego-1");
  EXPECT_EQ(dns.Peers(), (std::vector<std::string>{"127.0.0.1:5001"}));
}

// A member listening on every address must say which one the others reach it at.
TEST(ParseFlags, AMemberOnEveryAddressNeedsAdvertise) {
  const std::vector<std::string> env = {"STEGO_CLUSTER_SECRET=s"};
  for (const char* peer : {"0.0.0.0:5001", "127.0.0.1:5001"}) {
    const char* http = std::string(peer) == "0.0.0.0:5001" ? "127.0.0.1:8081" : "0.0.0.0:8081";
    auto refused = ParseFlags({"--peer", peer, "--http", http, "--data-dir", "/tmp/d"}, env);
    ASSERT_FALSE(refused) << peer;
    EXPECT_NE(refused.error().find("--advertise"), std::string::npos);
  }
  auto parsed = ParseFlags({"--peer", "0.0.0.0:5001", "--http", "0.0.0.0:8081", "--data-dir", "/tmp/d"},
                           {"STEGO_CLUSTER_SECRET=s", "STEGO_ADVERTISE=10.244.0.7"});
  ASSERT_TRUE(parsed) << parsed.error();
  EXPECT_EQ(parsed->config.AdvertisedHost(parsed->config.peer.host), "10.244.0.7");
  auto plain = ParseFlags({"--peer", "127.0.0.2:5001", "--data-dir", "/tmp/d"}, env);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->config.AdvertisedHost(plain->config.peer.host), "127.0.0.2");
}

TEST(ParseFlags, BadValuesNameTheFlag) {
  auto format = ParseFlags({"--log-format", "xml"}, {});
  ASSERT_FALSE(format);
  EXPECT_NE(format.error().find("--log-format"), std::string::npos);
  auto http = ParseFlags({"--http", "localhost:99999"}, {});
  ASSERT_FALSE(http);
  EXPECT_NE(http.error().find("--http"), std::string::npos);
  EXPECT_FALSE(ParseFlags({"--no-such-flag"}, {}));
  EXPECT_FALSE(ParseFlags({"--threads", "many"}, {}));
}

TEST(ParseFlags, RaftTimingsHaveTheCrdsBoundsAndComeFromTheEnvironmentToo) {
  auto defaults = ParseFlags({}, {});
  ASSERT_TRUE(defaults) << defaults.error();
  EXPECT_EQ(defaults->config.raft_heartbeat_ms, 50u);
  EXPECT_EQ(defaults->config.raft_election_timeout_ms, 150u);
  auto set = ParseFlags({"--raft-heartbeat-ms", "100"}, {"STEGO_RAFT_ELECTION_TIMEOUT_MS=1000"});
  ASSERT_TRUE(set) << set.error();
  EXPECT_EQ(set->config.raft_heartbeat_ms, 100u);
  EXPECT_EQ(set->config.raft_election_timeout_ms, 1000u);
  for (const auto& bad : std::vector<std::vector<std::string>>{
           {"--raft-heartbeat-ms", "5"},
           {"--raft-heartbeat-ms", "1001"},
           {"--raft-election-timeout-ms", "10001"},
           {"--raft-heartbeat-ms", "100", "--raft-election-timeout-ms", "299"}}) {  // under three heartbeats
    auto refused = ParseFlags(bad, {});
    ASSERT_FALSE(refused) << bad[1];
    EXPECT_NE(refused.error().find("--raft-"), std::string::npos) << refused.error();
  }
}

TEST(ParseFlags, CorsOriginsAreAnOriginListFromTheFlagOrTheEnvironment) {
  EXPECT_TRUE(ParseFlags({}, {})->config.cors_origins.empty()) << "no cross-origin page by default";
  auto flag = ParseFlags({"--cors-origins", "http://127.0.0.1:8090, HTTPS://Console.Example/"}, {});
  ASSERT_TRUE(flag) << flag.error();
  EXPECT_EQ(flag->config.cors_origins, (std::vector<std::string>{"http://127.0.0.1:8090", "https://console.example"}));
  auto env = ParseFlags({}, {"STEGO_CORS_ORIGINS=*"});
  ASSERT_TRUE(env) << env.error();
  EXPECT_EQ(env->config.cors_origins, std::vector<std::string>{"*"});
  auto bad = ParseFlags({"--cors-origins", "127.0.0.1:8090"}, {});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("--cors-origins"), std::string::npos) << bad.error();
  EXPECT_NE(bad.error().find("'127.0.0.1:8090'"), std::string::npos) << bad.error();
}

TEST(ParseFlags, HelpListsFlagsAndAsksToExit) {
  auto parsed = ParseFlags({"--help"}, {});
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(parsed->exit_now);
  EXPECT_EQ(parsed->exit_code, 0);
  for (const char* flag : {"--node-id", "--http", "--data-dir", "--cover", "--max-upload-bytes", "--max-pixels",
                           "--threads", "--log-format", "--admin-key", "--cors-origins"}) {
    EXPECT_NE(parsed->output.find(flag), std::string::npos) << flag;
  }
}

TEST(ParseHostPort, AcceptsBracketedIpv6AndEmptyHost) {
  auto v6 = ParseHostPort("[::1]:8081");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 8081);
  auto any = ParseHostPort(":0");
  ASSERT_TRUE(any);
  EXPECT_EQ(any->host, "0.0.0.0");
  EXPECT_FALSE(ParseHostPort("8081"));
  EXPECT_FALSE(ParseHostPort("host:80x"));
}

}  // namespace
}  // namespace worker
