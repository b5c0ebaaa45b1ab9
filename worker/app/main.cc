// stego-worker: one member of a stego-cluster: the steganography API, and with --peer a Raft
// member (worker/cluster) that replicates the cluster's state with the others.
#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include "common/logging.h"
#include "common/metrics.h"
#include "common/stop_signals.h"
#include "worker/api/cluster_binding.h"
#include "worker/api/cluster_routes.h"
#include "worker/api/console_routes.h"
#include "worker/api/cover_routes.h"
#include "worker/api/endpoints.h"
#include "worker/api/job_routes.h"
#include "worker/api/key_routes.h"
#include "worker/api/load_meter.h"
#include "worker/api/service_routes.h"
#include "worker/api/stego_routes.h"
#include "worker/app/config.h"
#include "worker/app/pre_stop.h"
#include "worker/cluster/member.h"
#include "worker/http/compute_pool.h"
#include "worker/http/router.h"
#include "worker/http/server.h"
#include "worker/stego/engine.h"

extern char** environ;

namespace {

stego::Result<stego::Image> LoadCover(const worker::WorkerConfig& config) {
  if (config.cover_path.empty()) return stego::DefaultCover();
  std::ifstream file(config.cover_path, std::ios::binary);
  if (!file) return stego::Fail(stego::ErrorCode::kInvalidArgument, "cannot read " + config.cover_path);
  const std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  return stego::DecodeImage({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, {config.max_pixels});
}

// Pages of another origin may call the API when their origin is listed by --cors-origins or by
// the cluster's replicated cors_origins (read per request, so a change applies at once).
std::shared_ptr<const http::CorsPolicy> CorsPolicyFor(const worker::WorkerConfig& config,
                                                      const api::ClusterBinding* cluster) {
  return std::make_shared<http::CorsPolicy>(http::CorsOptions{
      .allows = [origins = config.cors_origins, cluster](std::string_view origin) {
        return http::OriginListed(origins, origin) || (cluster && cluster->AllowsOrigin(origin));
      },
      // What our clients send and read beyond the CORS-safelisted fields: the admin or user key,
      // JSON and multipart bodies, a retried write's key, a request id to trace, the prototype's
      // leader-only redirect;
      // the request id, a download's file name, the member that ran a job, when to retry.
      .allowed_headers = {"Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id", "X-Stego-Leader-Only"},
      .exposed_headers = {"X-Request-Id", "Content-Disposition", "X-Stego-Member", "Retry-After"},
      .max_age = std::chrono::seconds(600)});
}

// The member's options from the flags. What the others are told: the listening hosts, or
// --advertise (needed for 0.0.0.0).
// The flags' milliseconds as whole ticks of the Raft core (NodeOptions::tick, 10 ms), rounded.
raft::NodeOptions RaftTimings(const worker::WorkerConfig& config) {
  raft::NodeOptions options;
  const auto ticks = [&](unsigned ms) {
    return std::max(1, static_cast<int>((ms + options.tick.count() / 2) / options.tick.count()));
  };
  options.raft.heartbeat_tick = ticks(config.raft_heartbeat_ms);
  options.raft.election_tick = ticks(config.raft_election_timeout_ms);
  return options;
}

cluster::MemberOptions MemberOptionsOf(const worker::WorkerConfig& config,
                                       std::shared_ptr<http::MemoryBudget> job_memory) {
  return {.name = config.node_id,
          .data_dir = config.data_dir,
          .peer_host = config.peer.host,
          .peer_port = config.peer.port,
          .advertise_peer = config.AdvertisedHost(config.peer.host) + ":" + std::to_string(config.peer.port),
          .advertise_http = config.AdvertisedHost(config.http.host) + ":" + std::to_string(config.http.port),
          .peers = config.peers,
          .peers_dns = config.peers_dns.host.empty()
                           ? std::nullopt
                           : std::optional<cluster::DnsPeers>({config.peers_dns.host, config.peers_dns.port}),
          .secret = config.cluster_secret,
          .peer_tls = config.peer_tls_cert.empty()
                          ? std::nullopt
                          : std::optional<http::TlsFiles>({.cert = config.peer_tls_cert,
                                                           .key = config.peer_tls_key,
                                                           .client_ca = config.peer_tls_ca}),
          .raft = RaftTimings(config),
          .job_memory = std::move(job_memory),
          .job_working_set_bytes = api::kStegoJobWorkingSetBytes,
          .compute_nice = config.compute_nice};
}

// The default cover, with its PNG prepared once (an embed then deflates only the rows it changed).
std::optional<stego::PngTemplate> PrepareDefaultCover(const worker::WorkerConfig& config) {
  auto cover = LoadCover(config);
  if (!cover) {
    spdlog::critical("default cover: {}", cover.error().message);
    return std::nullopt;
  }
  spdlog::info("default cover {}: {}x{}, {} channels", config.cover_path.empty() ? "synthetic" : config.cover_path,
               cover->width, cover->height, cover->channels);
  auto prepared = stego::PngTemplate::Prepare(std::make_shared<const stego::Image>(std::move(*cover)));
  if (!prepared) {
    spdlog::critical("default cover: {}", prepared.error().message);
    return std::nullopt;
  }
  return std::move(*prepared);
}

// The web console's files: --console-dir's (which must load), else those installed beside the
// binary (build/share/... in the build tree, /usr/local/share/... in the image), else none.
std::optional<std::shared_ptr<const api::ConsoleFiles>> LoadConsole(const worker::WorkerConfig& config) {
  if (config.no_console) return std::shared_ptr<const api::ConsoleFiles>();
  std::string dir = config.console_dir;
  if (dir.empty()) {
    std::error_code ec;
    const auto beside = std::filesystem::read_symlink("/proc/self/exe", ec).parent_path() / "../share/stego-worker/console";
    if (ec || !std::filesystem::exists(beside / "index.html")) return std::shared_ptr<const api::ConsoleFiles>();
    dir = beside.lexically_normal().string();
  }
  auto files = api::ConsoleFiles::Load(dir);
  if (!files) {
    spdlog::critical("web console: {}", files.error());
    return std::nullopt;
  }
  spdlog::info("web console: {} files from {}", files->size(), dir);
  return std::make_shared<const api::ConsoleFiles>(std::move(*files));
}

// Threads that wait on the members running dispatched jobs: enough to keep every member's compute
// pool and queue busy in a cluster of several members.
constexpr std::size_t kRelayThreads = 32;

// How long a leader that drains or stops waits for a successor to take over.
constexpr std::chrono::seconds kHandOverGrace{3};

int Run(const worker::WorkerConfig& config, sigset_t& stop_signals) {
  if (!config.data_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(config.data_dir, ec);
    if (ec) {
      spdlog::critical("cannot create --data-dir {}: {}", config.data_dir, ec.message());
      return 1;
    }
  }
  auto default_cover = PrepareDefaultCover(config);
  if (!default_cover) return 1;
  auto console = LoadConsole(config);
  if (!console) return 1;

  common::Metrics metrics;
  // One budget for every compute job of the process, whichever port it came in on.
  auto job_memory = std::make_shared<http::MemoryBudget>(config.queue_memory_bytes);
  api::PauseSwitch pause;
  api::LoadMeter load(metrics, api::IsStegoRoute);
  // With --peer, a cluster member; a standalone worker has neither replicated state nor ledger.
  std::unique_ptr<api::ClusterBinding> cluster;
  if (config.peer.port != 0) {
    auto started = api::ClusterBinding::Start(MemberOptionsOf(config, job_memory), pause, load, metrics);
    if (!started) {
      spdlog::critical("cluster: {}", started.error().message);
      return 1;
    }
    cluster = std::move(*started);
    pause.OnChange([m = &cluster->member()](bool paused) { m->SetPaused(paused); });
  }
  cluster::ClusterMember* member = cluster ? &cluster->member() : nullptr;

  http::Router router;
  const api::AccessControl access = api::ApiKeyAccess(config.admin_key, member);
  api::Endpoints endpoints(router, pause, access);
  if (cluster) endpoints.Use(cluster->JobMiddleware());
  api::AddStegoRoutes(endpoints,
                      {.member_name = config.node_id,
                       .max_upload_bytes = config.max_upload_bytes,
                       .max_pixels = config.max_pixels,
                       .tunables = cluster ? [c = cluster.get()] { return c->Tunables(); } : std::function<api::StegoTunables()>{},
                       .default_cover = std::make_shared<const stego::PngTemplate>(std::move(*default_cover)),
                       .metrics = &metrics,
                       .library_cover = member ? api::LibraryCovers(*member) : nullptr});
  // A standalone worker is ready as soon as it serves; a member once it votes, knows a leader and
  // has applied what is committed; neither once it drains (the preStop hook: app/pre_stop.h).
  std::atomic<bool> draining = false;
  api::AddServiceRoutes(endpoints, pause, metrics,
                        {.node_id = config.node_id,
                         .readiness = [member, &draining]() -> std::optional<std::string> {
                           if (draining) return "draining: this member is shutting down";
                           return member ? member->NotReady() : std::nullopt;
                         },
                         .drain = [&draining, c = cluster.get()] {
                           draining = true;
                           if (!c) return;
                           c->member().Leave();
                           c->HandOverIfLeader(kHandOverGrace);
                         }});
  api::AddClusterRoutes(endpoints, member);
  api::AddCoverRoutes(endpoints, member, {.max_pixels = config.max_pixels});
  api::AddKeyRoutes(endpoints, member);
  api::AddJobRoutes(endpoints, member);
  api::AddConsoleRoutes(endpoints, std::move(*console));

  http::ServerOptions options;
  options.host = config.http.host;
  options.port = config.http.port;
  options.compute_threads = config.threads;
  options.queue_capacity = config.queue_depth;
  options.memory_budget = job_memory;
  options.compute_nice = config.compute_nice;
  options.relay_threads = cluster ? kRelayThreads : 0;
  options.max_body_bytes = config.max_upload_bytes;
  options.cors = CorsPolicyFor(config, cluster.get());
  options.client_limits = config.client_limits;
  options.trusted_proxies = config.trusted_proxies;
  if (!config.tls_cert.empty()) {
    auto tls = http::ServerTls::Load({.cert = config.tls_cert, .key = config.tls_key, .client_ca = {}});
    if (!tls) {
      spdlog::critical("--tls-cert/--tls-key: {}", tls.error());
      return 1;
    }
    options.tls = std::move(*tls);
  }
  http::Server server(options, router, metrics);
  auto port = server.Start();
  if (!port) {
    spdlog::critical("cannot serve HTTP on {}:{}: {}", config.http.host, config.http.port, port.error());
    return 1;
  }
  spdlog::info("node {} listening on {}:{} ({}, {} compute threads at nice +{}, queue memory {} MiB, at most {} waiting)",
               config.node_id, config.http.host, *port, options.tls ? "HTTPS" : "plain HTTP", config.threads, config.compute_nice,
               config.queue_memory_bytes >> 20, config.queue_depth);

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  spdlog::info("{}: finishing in-flight requests, then exiting", strsignal(signal_number));
  server.Stop();
  // A leader hands over first, so that clients find the new one while in-flight requests finish
  // here; their job records then still reach the ledger, through the new leader.
  if (cluster) cluster->HandOverIfLeader(kHandOverGrace);
  server.Join();
  if (cluster) cluster->Stop();
  spdlog::info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  sigset_t stop_signals = common::BlockStopSignals();  // only the sigwait in Run takes them

  std::vector<std::string> args(argv + 1, argv + argc);
  std::vector<std::string> environment;
  for (char** entry = environ; *entry; ++entry) environment.emplace_back(*entry);
  auto parsed = worker::ParseFlags(args, environment);
  if (!parsed) {
    std::cerr << "stego-worker: " << parsed.error() << " (see --help)\n";
    return 2;
  }
  if (parsed->exit_now) {
    std::cout << parsed->output;
    return parsed->exit_code;
  }
  if (parsed->config.pre_stop) return worker::RunPreStop(parsed->config);
  common::ConfigureLogging(parsed->config.log_format, parsed->config.log_level);
  return Run(parsed->config, stop_signals);
}
