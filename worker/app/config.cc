#include "worker/app/config.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <limits>
#include <sstream>
#include <thread>

#include <unistd.h>

#include <boost/program_options.hpp>

#include "worker/http/cors.h"
#include "worker/http/server.h"

namespace worker {
namespace po = boost::program_options;
using common::Unexpected;

namespace {

constexpr std::string_view kEnvPrefix = "STEGO_";

struct RawFlags {
  std::string http;
  std::string peer;
  std::string peers;
  std::string peers_dns;
  std::string cors_origins;
  std::string trusted_proxies;
};

po::options_description Describe(WorkerConfig& c, RawFlags& raw) {
  po::options_description d("stego-worker options (each also settable as STEGO_<NAME>, e.g. STEGO_NODE_ID)");
  d.add_options()
      ("help,h", "show this help")
      ("version", "print the version")
      ("node-id", po::value(&c.node_id), "member identity (default: the host name)")
      ("http", po::value(&raw.http)->default_value("127.0.0.1:8081"), "HTTP API address host:port (port 0 = any)")
      ("data-dir", po::value(&c.data_dir), "directory for durable state (created if missing)")
      ("cover", po::value(&c.cover_path), "default cover image (default: a synthetic 1920x1080 cover)")
      ("console-dir", po::value(&c.console_dir),
       "the web console's built files, served at / (default: ../share/stego-worker/console beside the binary, when there)")
      ("no-console", po::value(&c.no_console)->default_value(false)->implicit_value(true), "serve no web console, the API alone")
      ("max-upload-bytes", po::value(&c.max_upload_bytes)->default_value(c.max_upload_bytes), "largest request body accepted")
      ("max-pixels", po::value(&c.max_pixels)->default_value(c.max_pixels), "largest cover accepted, in pixels (checked from the image header)")
      ("threads", po::value(&c.threads)->default_value(0), "compute threads (0 = one per core)")
      ("queue-depth", po::value(&c.queue_depth)->default_value(c.queue_depth), "compute jobs allowed to wait, a hard count cap (memory is the real bound: --queue-memory-bytes); beyond it requests get 503")
      ("queue-memory-bytes", po::value(&c.queue_memory_bytes)->default_value(0),
       "memory that queued and running compute jobs may hold (body + working-set estimate each); beyond it requests get 503 "
       "(0 = a quarter of the cgroup memory limit or of MemTotal, at most 2 GiB)")
      ("compute-nice", po::value(&c.compute_nice)->default_value(c.compute_nice),
       "nice value added to the compute threads (0-19), so that the Raft threads are not starved under load")
      ("log-format", po::value(&c.log_format)->default_value(c.log_format), "text or json")
      ("log-level", po::value(&c.log_level)->default_value(c.log_level), "trace, debug, info, warn, error")
      ("admin-key", po::value(&c.admin_key), "bearer key with the admin role: /admin/*, config, keys (prefer STEGO_ADMIN_KEY: argv is visible in ps)")
      ("cors-origins", po::value(&raw.cors_origins),
       "origins whose web pages may call the API, comma-separated scheme://host[:port], or * for any "
       "(default: none); a cluster's cors_origins setting adds to them")
      ("client-concurrency", po::value(&c.client_limits.concurrency)->default_value(c.client_limits.concurrency),
       "requests one client (each source address, each API key) may have in progress; beyond it 429 (0 = no limit)")
      ("client-rate", po::value(&c.client_limits.rate)->default_value(c.client_limits.rate),
       "requests per second one client may send on average; beyond it 429 with Retry-After (0 = no limit)")
      ("client-burst", po::value(&c.client_limits.burst)->default_value(c.client_limits.burst),
       "requests one client may send at once under --client-rate (0 = the rate, at least 1)")
      ("client-connections", po::value(&c.client_limits.connections)->default_value(c.client_limits.connections),
       "connections one source address may hold open; beyond it 429 and closed (0 = no limit)")
      ("trusted-proxies", po::value(&raw.trusted_proxies),
       "reverse proxies (e.g. the Ingress controller), comma-separated addresses or CIDR blocks: a request through "
       "one counts against the client its X-Forwarded-For names last, and their connections against no limit")
      ("tls-cert", po::value(&c.tls_cert),
       "serve HTTPS on --http with this PEM certificate (and intermediates); needs --tls-key; the pair is "
       "reloaded for new connections when the files change")
      ("tls-key", po::value(&c.tls_key), "the PEM private key of --tls-cert")
      ("peer-tls-cert", po::value(&c.peer_tls_cert),
       "mutual TLS on the peer port: this member's PEM certificate, presented to the others as server and client; "
       "needs --peer-tls-key and --peer-tls-ca")
      ("peer-tls-key", po::value(&c.peer_tls_key), "the PEM private key of --peer-tls-cert")
      ("peer-tls-ca", po::value(&c.peer_tls_ca),
       "the PEM CA of the cluster: a member's peer certificate must chain to it (dedicate a CA to the cluster: "
       "any certificate it signs is a member's)")
      ("peer", po::value(&raw.peer), "Raft peer port host:port; makes this worker a cluster member (needs --data-dir)")
      ("advertise", po::value(&c.advertise),
       "host the other members and clients reach this member at (in Kubernetes the pod IP); required when --http or --peer listen on 0.0.0.0 or ::")
      ("peers", po::value(&raw.peers), "static member list name=host:port,... (peer ports); the first name bootstraps")
      ("peers-dns", po::value(&raw.peers_dns),
       "or find the members as the A records of NAME[:port] (a headless Service; port: ours), re-resolved "
       "every 5 s; only --node-id <name>-0 bootstraps")
      ("cluster-secret", po::value(&c.cluster_secret), "shared secret of the peer port (prefer STEGO_CLUSTER_SECRET)")
      ("raft-heartbeat-ms", po::value(&c.raft_heartbeat_ms)->default_value(c.raft_heartbeat_ms),
       "how often the leader tells the followers it is alive (10-1000, in steps of 10)")
      ("raft-election-timeout-ms", po::value(&c.raft_election_timeout_ms)->default_value(c.raft_election_timeout_ms),
       "how long a follower waits without a leader before it campaigns, randomised up to twice this "
       "(30-10000, at least three heartbeats)")
      ("pre-stop", po::value(&c.pre_stop)->default_value(false)->implicit_value(true),
       "run as a pod's preStop hook instead of serving: ask the worker at --http (with the admin key) to drain "
       "(hand leadership over, turn unready), then wait --drain-ms while it keeps serving, and exit")
      ("drain-ms", po::value(&c.drain_ms)->default_value(c.drain_ms),
       "how long --pre-stop keeps a draining worker serving (0-60000), so that Services and the Ingress stop "
       "sending it requests before SIGTERM");
  return d;
}

// STEGO_MAX_UPLOAD_BYTES -> max-upload-bytes; anything without our prefix is not ours.
std::string EnvToOption(const po::options_description& d, const std::string& env_name) {
  if (!env_name.starts_with(kEnvPrefix)) return "";
  std::string name = env_name.substr(kEnvPrefix.size());
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char ch) {
    return ch == '_' ? '-' : static_cast<char>(std::tolower(ch));
  });
  if (name == "help" || name == "version") return "";
  return d.find_nothrow(name, false) ? name : "";
}

// NAME=VALUE entries that are ours, as "--option=value" arguments for the same parser as argv.
std::vector<std::string> EnvironmentAsFlags(const po::options_description& d,
                                            const std::vector<std::string>& environment) {
  std::vector<std::string> flags;
  for (const auto& entry : environment) {
    const auto eq = entry.find('=');
    if (eq == std::string::npos) continue;
    const std::string option = EnvToOption(d, entry.substr(0, eq));
    if (!option.empty()) flags.push_back("--" + option + "=" + entry.substr(eq + 1));
  }
  return flags;
}

common::Expected<void, std::string> Validate(WorkerConfig& c) {
  if (c.log_format != "text" && c.log_format != "json") {
    return Unexpected{"--log-format must be text or json, not '" + c.log_format + "'"};
  }
  if (c.max_upload_bytes < 1024) return Unexpected{std::string("--max-upload-bytes must be at least 1024")};
  if (c.max_pixels < 64) return Unexpected{std::string("--max-pixels must be at least 64")};
  if (c.threads == 0) c.threads = std::max(1u, std::thread::hardware_concurrency());
  if (c.queue_depth == 0) return Unexpected{std::string("--queue-depth must be at least 1")};
  if (c.queue_memory_bytes == 0) c.queue_memory_bytes = DefaultQueueMemoryBytes();
  if (c.client_limits.rate < 0 || c.client_limits.rate > 1e6 || c.client_limits.burst < 0 || c.client_limits.burst > 1e6) {
    return Unexpected{std::string("--client-rate and --client-burst must be 0-1000000")};
  }
  if (c.compute_nice < 0 || c.compute_nice > 19) return Unexpected{std::string("--compute-nice must be 0-19")};
  // The same bounds as the StegoCluster CRD's spec.raft.
  if (c.raft_heartbeat_ms < 10 || c.raft_heartbeat_ms > 1000) {
    return Unexpected{std::string("--raft-heartbeat-ms must be 10-1000")};
  }
  if (c.raft_election_timeout_ms < 30 || c.raft_election_timeout_ms > 10000 ||
      c.raft_election_timeout_ms < 3 * c.raft_heartbeat_ms) {
    return Unexpected{std::string("--raft-election-timeout-ms must be 30-10000 and at least three heartbeats")};
  }
  if (c.drain_ms > 60'000) return Unexpected{std::string("--drain-ms must be 0-60000")};
  if (c.node_id.empty()) {
    char host[256] = {};
    c.node_id = gethostname(host, sizeof host - 1) == 0 && host[0] ? host : "node";
  }
  return {};
}

// The first number in a file ("max" and unreadable files give 0: no limit).
uint64_t ReadNumber(const char* path) {
  std::ifstream in(path);
  uint64_t value = 0;
  return in >> value ? value : 0;
}

uint64_t MemTotalBytes() {
  std::ifstream in("/proc/meminfo");
  for (std::string key; in >> key;) {
    uint64_t kib = 0;
    if (key == "MemTotal:" && in >> kib) return kib * 1024;
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return 0;
}

}  // namespace

uint64_t QueueMemoryFromLimits(uint64_t mem_total, uint64_t cgroup_limit) {
  // cgroup v1 reports "no limit" as a huge number; so does a limit above the machine's memory.
  const uint64_t usable = cgroup_limit > 0 && (mem_total == 0 || cgroup_limit < mem_total) ? cgroup_limit : mem_total;
  if (usable == 0) return kMaxDefaultQueueMemory;  // nothing readable: assume a machine of today
  return std::min(usable / 4, kMaxDefaultQueueMemory);
}

uint64_t DefaultQueueMemoryBytes() {
  uint64_t cgroup = ReadNumber("/sys/fs/cgroup/memory.max");
  if (cgroup == 0) cgroup = ReadNumber("/sys/fs/cgroup/memory/memory.limit_in_bytes");
  return QueueMemoryFromLimits(MemTotalBytes(), cgroup);
}

common::Expected<std::vector<std::pair<std::string, std::string>>, std::string> ParsePeerList(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> peers;
  std::stringstream items(text);
  for (std::string item; std::getline(items, item, ',');) {
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) return Unexpected{"'" + item + "' is not name=host:port"};
    const std::string name = item.substr(0, eq);
    auto address = ParseHostPort(item.substr(eq + 1));
    if (!address) return Unexpected{name + ": " + address.error()};
    for (const auto& [known, _] : peers) {
      if (known == name) return Unexpected{"member " + name + " is listed twice"};
    }
    peers.emplace_back(name, item.substr(eq + 1));
  }
  return peers;
}

common::Expected<HostPort, std::string> ParseDnsName(const std::string& text, uint16_t default_port) {
  if (text.find(':') == std::string::npos) {
    if (text.empty()) return Unexpected{std::string("empty name")};
    return HostPort{text, default_port};
  }
  auto named = ParseHostPort(text);
  if (!named) return named;
  if (text.front() == ':') return Unexpected{"'" + text + "' names no host"};
  if (named->port == 0) return Unexpected{"'" + text + "' needs a non-zero port"};
  return named;
}

common::Expected<ParsedFlags, std::string> ParseFlags(const std::vector<std::string>& args,
                                                      const std::vector<std::string>& environment) {
  ParsedFlags parsed;
  RawFlags raw;
  const po::options_description desc = Describe(parsed.config, raw);
  po::variables_map vm;
  try {
    // The command line is stored first: program_options keeps the first value stored, so flags win.
    po::store(po::command_line_parser(args).options(desc).run(), vm);
    po::store(po::command_line_parser(EnvironmentAsFlags(desc, environment)).options(desc).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return Unexpected{std::string(e.what())};
  }
  if (vm.count("help")) {
    std::ostringstream out;
    out << "stego-worker: serves the steganography API.\n\n" << desc;
    return ParsedFlags{{}, true, 0, out.str()};
  }
  if (vm.count("version")) return ParsedFlags{{}, true, 0, "stego-worker " STEGO_VERSION "\n"};
  auto host_port = ParseHostPort(raw.http);
  if (!host_port) return Unexpected{"--http: " + host_port.error()};
  parsed.config.http = *host_port;
  auto origins = http::ParseOriginList(raw.cors_origins);
  if (!origins) return Unexpected{"--cors-origins: " + origins.error()};
  parsed.config.cors_origins = std::move(*origins);
  auto proxies = http::ParseTrustedProxies(raw.trusted_proxies);
  if (!proxies) return Unexpected{"--trusted-proxies: " + proxies.error()};
  parsed.config.trusted_proxies = std::move(*proxies);
  if (!raw.peer.empty()) {
    auto peer = ParseHostPort(raw.peer);
    if (!peer) return Unexpected{"--peer: " + peer.error()};
    if (peer->port == 0) return Unexpected{std::string("--peer needs a fixed port: the others must reach it")};
    parsed.config.peer = *peer;
    if (parsed.config.data_dir.empty()) return Unexpected{std::string("--peer needs --data-dir for the Raft state")};
    if (parsed.config.http.port == 0) return Unexpected{std::string("--peer needs a fixed --http port: members advertise it")};
    if (parsed.config.cluster_secret.empty()) {
      return Unexpected{std::string("--peer needs --cluster-secret (or STEGO_CLUSTER_SECRET)")};
    }
    const auto unspecified = [](const std::string& host) { return host == "0.0.0.0" || host == "::"; };
    if (parsed.config.advertise.empty() && (unspecified(peer->host) || unspecified(parsed.config.http.host))) {
      return Unexpected{std::string("--peer or --http listens on every address: give --advertise, the address "
                                    "the other members reach this one at")};
    }
  }
  if (parsed.config.tls_cert.empty() != parsed.config.tls_key.empty()) {
    return Unexpected{std::string("--tls-cert and --tls-key go together: give both or neither")};
  }
  const auto& c = parsed.config;
  const int peer_tls_given = !c.peer_tls_cert.empty() + !c.peer_tls_key.empty() + !c.peer_tls_ca.empty();
  if (peer_tls_given != 0 && peer_tls_given != 3) {
    return Unexpected{std::string("--peer-tls-cert, --peer-tls-key and --peer-tls-ca go together: give all three or none")};
  }
  if (peer_tls_given != 0 && raw.peer.empty()) {
    return Unexpected{std::string("--peer-tls-* need --peer: only a member has a peer port")};
  }
  auto peers = ParsePeerList(raw.peers);
  if (!peers) return Unexpected{"--peers: " + peers.error()};
  parsed.config.peers = std::move(*peers);
  if (!raw.peers_dns.empty()) {
    if (!raw.peers.empty()) return Unexpected{std::string("--peers and --peers-dns are alternatives: give one")};
    if (raw.peer.empty()) return Unexpected{std::string("--peers-dns needs --peer: only a member looks for peers")};
    auto dns = ParseDnsName(raw.peers_dns, parsed.config.peer.port);
    if (!dns) return Unexpected{"--peers-dns: " + dns.error()};
    parsed.config.peers_dns = *dns;
  }
  if (auto ok = Validate(parsed.config); !ok) return Unexpected{ok.error()};
  return parsed;
}

}  // namespace worker
