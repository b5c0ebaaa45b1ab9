// stego-worker: one member of a stego-cluster: the steganography API, and with --peer a Raft
// member (worker/cluster) that replicates the cluster's state with the others.
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>

#include <nlohmann/json.hpp>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include "common/metrics.h"
#include "worker/api/cluster_routes.h"
#include "worker/api/cover_routes.h"
#include "worker/api/endpoints.h"
#include "worker/api/job_routes.h"
#include "worker/api/key_routes.h"
#include "worker/api/load_meter.h"
#include "worker/api/replicated.h"
#include "worker/api/service_routes.h"
#include "worker/api/stego_routes.h"
#include "worker/app/config.h"
#include "worker/app/logging.h"
#include "worker/cluster/dispatcher.h"
#include "worker/cluster/job_recorder.h"
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
                                                      const cluster::ClusterMember* member) {
  return std::make_shared<http::CorsPolicy>(http::CorsOptions{
      .allows = [origins = config.cors_origins, member](std::string_view origin) {
        return http::OriginListed(origins, origin) ||
               (member && http::OriginListed(member->state().config().GetList("cors_origins"), origin));
      },
      // What our clients send and read beyond the CORS-safelisted fields: the admin or user key,
      // JSON and multipart bodies, a request id to trace, the prototype's leader-only redirect;
      // the request id, a download's file name, the member that ran a job, when to retry.
      .allowed_headers = {"Authorization", "Content-Type", "X-Request-Id", "X-Stego-Leader-Only"},
      .exposed_headers = {"X-Request-Id", "Content-Disposition", "X-Stego-Member", "Retry-After"},
      .max_age = std::chrono::seconds(600)});
}

// Threads that wait on the members running dispatched jobs: enough to keep every member's compute
// pool and queue busy in a cluster of several members.
constexpr std::size_t kRelayThreads = 32;

int Run(const worker::WorkerConfig& config, sigset_t& stop_signals) {
  if (!config.data_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(config.data_dir, ec);
    if (ec) {
      spdlog::critical("cannot create --data-dir {}: {}", config.data_dir, ec.message());
      return 1;
    }
  }
  auto cover = LoadCover(config);
  if (!cover) {
    spdlog::critical("default cover: {}", cover.error().message);
    return 1;
  }
  spdlog::info("default cover {}: {}x{}, {} channels", config.cover_path.empty() ? "synthetic" : config.cover_path,
               cover->width, cover->height, cover->channels);
  auto default_cover = stego::PngTemplate::Prepare(std::make_shared<const stego::Image>(std::move(*cover)));
  if (!default_cover) {
    spdlog::critical("default cover: {}", default_cover.error().message);
    return 1;
  }

  common::Metrics metrics;
  // One budget for every compute job of the process, whichever port it came in on.
  auto job_memory = std::make_shared<http::MemoryBudget>(config.queue_memory_bytes);
  api::PauseSwitch pause;
  api::LoadMeter load(metrics, api::IsStegoRoute);
  cluster::JobTable jobs(config.node_id);
  std::unique_ptr<cluster::ClusterMember> member;
  if (config.peer.port != 0) {
    // What the others are told: the listening hosts, or --advertise (needed for 0.0.0.0).
    const std::string peer = config.AdvertisedHost(config.peer.host) + ":" + std::to_string(config.peer.port);
    auto started = cluster::ClusterMember::Start(
        {.name = config.node_id,
         .data_dir = config.data_dir,
         .peer_host = config.peer.host,
         .peer_port = config.peer.port,
         .advertise_peer = peer,
         .advertise_http = config.AdvertisedHost(config.http.host) + ":" + std::to_string(config.http.port),
         .peers = config.peers,
         .peers_dns = config.peers_dns.host.empty()
                          ? std::nullopt
                          : std::optional<cluster::DnsPeers>({config.peers_dns.host, config.peers_dns.port}),
         .secret = config.cluster_secret,
         .raft = {},
         .load_report = [&load, &pause, &jobs, &member] {
           const api::Load l = load.Current();
           return nlohmann::json{{"healthy", !pause.paused()}, {"cpu_pct", l.cpu_pct}, {"mem_pct", l.mem_pct},
                                 {"qps_1m", l.qps_1m}, {"p95_ms", l.p95_ms}, {"in_flight", jobs.in_flight()},
                                 {"applied", member ? member->node().Status().applied : 0}};
         },
         .add_peer_routes = [&jobs, &pause, &member, secret = config.cluster_secret](http::Router& peer_router) {
           cluster::AddPeerJobRoutes(peer_router, jobs,
                                 {.secret = secret,
                                  .paused = [&pause] { return pause.paused(); },
                                  .caught_up_to = [&member](raft::Index index) {
                                    return member && cluster::AwaitApplied(member->node(), index,
                                                                           std::chrono::seconds(1));
                                  }});
         },
         .job_memory = job_memory,
         .job_working_set_bytes = api::kStegoJobWorkingSetBytes,
         .compute_nice = config.compute_nice},
        metrics);
    if (!started) {
      spdlog::critical("cluster: {}", started.error());
      return 1;
    }
    member = std::move(*started);
  }
  // A member records every job it computes in the replicated job ledger; a standalone worker keeps none.
  std::unique_ptr<cluster::JobRecorder> job_recorder;
  std::function<void(const cluster::JobRecord&)> on_job = nullptr;
  if (member) {
    job_recorder = std::make_unique<cluster::JobRecorder>(
        cluster::JobRecorderOptions{.member = config.node_id},
        [m = member.get()](std::string command) { return m->node().Propose(std::move(command)); }, metrics);
    on_job = [r = job_recorder.get()](const cluster::JobRecord& job) { r->Record(job); };
  }

  http::Router router;
  if (member) pause.OnChange([m = member.get()](bool paused) { m->SetPaused(paused); });
  const api::AccessControl access = api::ApiKeyAccess(config.admin_key, member.get());
  api::Endpoints endpoints(router, pause, access);
  std::function<api::StegoTunables()> tunables = nullptr;
  if (member) {
    tunables = [m = member.get()] {
      const auto& c = m->state().config();
      return api::StegoTunables{static_cast<int>(c.Get("default_lsb_bits")),
                                static_cast<uint64_t>(c.Get("max_pixels"))};
    };
  }
  // The leader places each upload job on the least-loaded member (cluster/dispatcher.h).
  std::unique_ptr<cluster::Dispatcher> dispatcher;
  std::function<http::Handler(const http::Request&, const std::string&)> relay = nullptr;
  if (member) {
    dispatcher = std::make_unique<cluster::Dispatcher>(*member, jobs, cluster::DispatcherOptions{.secret = config.cluster_secret}, metrics);
    relay = [d = dispatcher.get()](const http::Request& request, const std::string& route) {
      return d->Relay(request, route);
    };
  }
  api::AddStegoRoutes(endpoints, {.max_upload_bytes = config.max_upload_bytes,
                                  .max_pixels = config.max_pixels,
                                  .tunables = tunables,
                                  .default_cover = std::make_shared<const stego::PngTemplate>(std::move(*default_cover)),
                                  .metrics = &metrics,
                                  .library_cover = member ? api::LibraryCovers(*member) : nullptr,
                                  .jobs = &jobs,
                                  .relay = relay,
                                  .on_job = on_job});
  // A standalone worker is ready as soon as it serves; a member once it knows a leader and has
  // applied what is committed.
  api::ReadinessProbe readiness = nullptr;
  if (member) readiness = [m = member.get()] { return m->NotReady(); };
  api::AddServiceRoutes(endpoints, pause, metrics,
                        {.node_id = config.node_id, .readiness = readiness});
  api::AddClusterRoutes(endpoints, member.get());
  api::AddCoverRoutes(endpoints, member.get(), {.max_pixels = config.max_pixels});
  api::AddKeyRoutes(endpoints, member.get());
  api::AddJobRoutes(endpoints, member.get());

  http::ServerOptions options;
  options.host = config.http.host;
  options.port = config.http.port;
  options.compute_threads = config.threads;
  options.queue_capacity = config.queue_depth;
  options.memory_budget = job_memory;
  options.compute_nice = config.compute_nice;
  options.relay_threads = member ? kRelayThreads : 0;
  options.max_body_bytes = config.max_upload_bytes;
  options.cors = CorsPolicyFor(config, member.get());
  http::Server server(options, router, metrics);
  auto port = server.Start();
  if (!port) {
    spdlog::critical("cannot serve HTTP on {}:{}: {}", config.http.host, config.http.port, port.error());
    return 1;
  }
  spdlog::info("node {} listening on {}:{} ({} compute threads at nice +{}, queue memory {} MiB, at most {} waiting)",
               config.node_id, config.http.host, *port, config.threads, config.compute_nice,
               config.queue_memory_bytes >> 20, config.queue_depth);

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  spdlog::info("{}: finishing in-flight requests, then exiting", strsignal(signal_number));
  server.Stop();
  // A leader hands over first, so that clients find the new one while in-flight requests finish
  // here; their job records then still reach the ledger, through the new leader.
  if (member && member->node().Status().role == raft::Role::kLeader) {
    if (auto handed = member->HandOver("", std::chrono::seconds(3)); !handed) {
      spdlog::warn("could not hand leadership over: {}", handed.error().message);
    }
  }
  server.Join();
  dispatcher.reset();
  if (job_recorder) job_recorder->Stop();
  if (member) member->Stop();
  spdlog::info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Block the stop signals before any thread exists, so every thread inherits the mask and only the
  // sigwait in Run receives them: no async-signal-safety puzzles.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

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
  worker::ConfigureLogging(parsed->config.log_format, parsed->config.log_level);
  return Run(parsed->config, stop_signals);
}
