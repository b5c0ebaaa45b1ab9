// Worker configuration: every flag, its environment variable (STEGO_ + upper-case name, e.g.
// STEGO_MAX_UPLOAD_BYTES), defaults and validation. Command-line flags win over the environment.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/expected.h"
#include "common/host_port.h"
#include "worker/http/client_limits.h"

namespace worker {

using common::HostPort;
using common::ParseHostPort;

struct WorkerConfig {
  std::string node_id;
  HostPort http{"127.0.0.1", 8081};
  std::string data_dir;
  std::string cover_path;  // empty: the deterministic synthetic 1920x1080 cover
  // The web console's built files; empty: <binary's dir>/../share/stego-worker/console when there.
  std::string console_dir;
  bool no_console = false;  // the API alone
  size_t max_upload_bytes = 32u << 20;
  uint64_t max_pixels = 40'000'000;
  unsigned threads = 0;      // compute threads; 0 before validation means "one per core"
  size_t queue_depth = 256;  // compute jobs allowed to wait (a count cap; memory is the real bound)
  // What admitted compute jobs may hold in all (request bodies plus working-set estimates);
  // 0 before validation means DefaultQueueMemoryBytes().
  uint64_t queue_memory_bytes = 0;
  int compute_nice = 10;     // compute threads run this much lower than the Raft and IO threads
  std::string log_format = "text";
  std::string log_level = "info";
  std::string admin_key;     // empty: admin endpoints are refused
  // Origins whose pages may call the API (http/cors.h), normalized; "*" any. The replicated
  // configuration's cors_origins adds to them. Empty: none (same-origin pages only).
  std::vector<std::string> cors_origins;
  // What one client (each source address, each API key) may take: requests at once, requests per
  // second with a burst (rate 0: no rate limit) and connections per address (http/client_limits.h).
  http::ClientLimitOptions client_limits{.concurrency = 64, .connections = 128};
  // Reverse proxies (addresses or CIDR blocks) whose X-Forwarded-For names the client.
  std::vector<std::string> trusted_proxies;
  // HTTPS on the API port: a PEM certificate (chain) and its key, reloaded when they change
  // (http/tls.h). Both or neither; neither: plain HTTP.
  std::string tls_cert;
  std::string tls_key;
  // Mutual TLS on the peer port: this member's certificate and key, presented as server and as
  // client, and the cluster's CA, the only issuer trusted at either end. All three or none.
  std::string peer_tls_cert;
  std::string peer_tls_key;
  std::string peer_tls_ca;
  // Cluster membership (all empty: a standalone worker).
  HostPort peer;                                               // Raft peer port; port 0 = not a member
  std::string advertise;  // host the others reach us at; required when --http or --peer listen on 0.0.0.0 / ::
  std::vector<std::pair<std::string, std::string>> peers;      // static list: name -> host:port
  HostPort peers_dns;  // --peers-dns: peers are the A records of this name; empty host = not used
  std::string cluster_secret;                                  // required with --peer
  // Raft timings, in steps of the 10 ms tick: the leader's heartbeat, and the election timeout
  // (a follower campaigns after a random wait in [timeout, 2 x timeout) without a leader).
  unsigned raft_heartbeat_ms = 50;
  unsigned raft_election_timeout_ms = 150;
  // --pre-stop: instead of serving, act as the pod's preStop hook (app/pre_stop.h) for the worker
  // at `http`, keeping it serving for `drain_ms` after it turned unready.
  bool pre_stop = false;
  unsigned drain_ms = 5000;

  // The host to tell others for an address listening on `host`: --advertise when given.
  std::string AdvertisedHost(const std::string& host) const { return advertise.empty() ? host : advertise; }
};

// What parsing decided: run with a config, or exit (after --help/--version) with a code and text.
struct ParsedFlags {
  WorkerConfig config;
  bool exit_now = false;
  int exit_code = 0;
  std::string output;  // help or version text when exit_now
};

// Parses argv and the environment (`environ`-style NAME=VALUE list). Errors name the bad flag.
common::Expected<ParsedFlags, std::string> ParseFlags(const std::vector<std::string>& args,
                                                      const std::vector<std::string>& environment);

// The default --queue-memory-bytes: a quarter of the memory this process may use (the cgroup's
// memory.max when set, else MemTotal), at most kMaxDefaultQueueMemory. The rest is left to the
// process's own state (default cover, cover library, Raft log cache) and to the kernel.
inline constexpr uint64_t kMaxDefaultQueueMemory = 2ull << 30;
uint64_t QueueMemoryFromLimits(uint64_t mem_total, uint64_t cgroup_limit /* 0: none */);
// Reads /sys/fs/cgroup/memory.max (cgroup v2), /sys/fs/cgroup/memory/memory.limit_in_bytes (v1)
// and /proc/meminfo.
uint64_t DefaultQueueMemoryBytes();

// "a=h1:5001,b=h2:5002" -> [(a, h1:5001), (b, h2:5002)], in order; names must be unique.
common::Expected<std::vector<std::pair<std::string, std::string>>, std::string> ParsePeerList(const std::string& text);
// "NAME" or "NAME:port" (--peers-dns); without a port the members' peer port is `default_port`.
common::Expected<HostPort, std::string> ParseDnsName(const std::string& text, uint16_t default_port);

}  // namespace worker
