#include "worker/api/cluster_binding.h"

#include <spdlog/spdlog.h>

#include "worker/http/cors.h"

namespace api {

ClusterBinding::ClusterBinding(const PauseSwitch& pause, const LoadMeter& load) : pause_(pause), load_(load) {}

common::Expected<std::unique_ptr<ClusterBinding>, cluster::Error> ClusterBinding::Start(
    cluster::MemberOptions options, const PauseSwitch& pause, const LoadMeter& load, common::Metrics& metrics) {
  std::unique_ptr<ClusterBinding> binding(new ClusterBinding(pause, load));
  ClusterBinding* self = binding.get();
  binding->jobs_ = std::make_unique<cluster::JobTable>();
  options.load_report = [self] { return self->LoadReport(); };
  options.load_history = [self] { return self->LoadHistory(); };
  options.add_peer_routes = [self, secret = options.secret](http::Router& peer_router) {
    cluster::AddPeerJobRoutes(peer_router, *self->jobs_,
                              {.secret = secret,
                               .paused = [self] { return self->pause_.paused(); },
                               .caught_up_to = [self](cluster::Index index) {
                                 const cluster::ClusterMember* m = self->started_member_.load();
                                 return m && m->AwaitApplied(index, std::chrono::seconds(1));
                               }});
  };
  const std::string name = options.name;
  auto member = cluster::ClusterMember::Start(std::move(options), metrics);
  if (!member) return common::Unexpected{std::move(member).error()};
  binding->member_ = std::move(*member);
  binding->started_member_.store(binding->member_.get());
  cluster::ClusterMember& m = *binding->member_;
  // A member records every job it computes in the replicated job ledger.
  binding->recorder_ = std::make_unique<cluster::JobRecorder>(
      cluster::JobRecorderOptions{.member = name},
      [&m](std::string command, const std::function<bool()>& give_up) {
        return m.Commit(std::move(command), {}, give_up).has_value();
      },
      metrics);
  // The leader places each upload job on the least-loaded member (cluster/dispatcher.h).
  binding->dispatcher_ = std::make_unique<cluster::Dispatcher>(m, *binding->jobs_,
                                                               cluster::DispatcherOptions{.peer = m.peer_auth()}, metrics);
  return binding;
}

ClusterBinding::~ClusterBinding() { Stop(); }

nlohmann::json ClusterBinding::LoadReport() const {
  const Load l = load_.Current();
  const cluster::ClusterMember* member = started_member_.load();
  return {{"healthy", !pause_.paused()}, {"cpu_pct", l.cpu_pct}, {"mem_pct", l.mem_pct},
          {"qps_1m", l.qps_1m}, {"p95_ms", l.p95_ms}, {"in_flight", jobs_->in_flight()},
          {"applied", member ? member->applied() : 0}};
}

nlohmann::json ClusterBinding::LoadHistory() const {
  nlohmann::json samples = nlohmann::json::array();
  for (const LoadSample& s : load_.History()) {
    samples.push_back({{"t", s.unix_ms}, {"cpu_pct", s.cpu_pct}, {"mem_pct", s.mem_pct}, {"rps", s.rps},
                       {"p95_ms", s.p95_ms}});
  }
  return {{"healthy", !pause_.paused()}, {"samples", std::move(samples)}};
}

http::Middleware ClusterBinding::JobMiddleware() {
  return [this](http::RouteInfo& route, http::Handler handler) {
    if (route.options.job.empty()) return handler;
    const std::string name = route.options.name;
    handler = jobs_->Add(name, Recorded(route.options.job, std::move(handler)));
    route.options.relay = [d = dispatcher_.get(), name](const http::Request& request) { return d->Relay(request, name); };
    return handler;
  };
}

// Wraps a job so that the job ledger hears how each run ended. The job's id is the request id,
// which every answer carries, so a client can look its job up.
http::Handler ClusterBinding::Recorded(std::string kind, http::Handler job) const {
  return [recorder = recorder_.get(), kind = std::move(kind), job = std::move(job)](http::Request& request) {
    using namespace std::chrono;
    const auto since_epoch = duration_cast<milliseconds>(system_clock::now().time_since_epoch());
    cluster::JobRecord record{.id = request.request_id,
                              .kind = kind,
                              .started_at_ms = static_cast<uint64_t>(since_epoch.count()),
                              .input_bytes = request.body.size()};  // before the job takes the body
    const auto start = steady_clock::now();
    auto finish = [&](int status, std::string error, size_t output_bytes) {
      record.duration_ms = static_cast<uint64_t>(duration_cast<milliseconds>(steady_clock::now() - start).count());
      record.http_status = status;
      record.error = std::move(error);
      record.output_bytes = output_bytes;
      recorder->Record(record);
    };
    try {
      http::Response response = job(request);
      const bool failed = response.status >= 400;
      finish(response.status,
             !failed ? "" : !response.error_code.empty() ? response.error_code : "http_" + std::to_string(response.status),
             response.body.size());
      return response;
    } catch (...) {
      finish(500, "internal_error", 0);  // what the server answers for a handler that throws
      throw;
    }
  };
}

StegoTunables ClusterBinding::Tunables() const {
  const cluster::ClusterConfig c = member_->state().config().view();
  return {c.default_lsb_bits, c.max_pixels};
}

bool ClusterBinding::AllowsOrigin(std::string_view origin) const {
  return http::OriginListed(member_->state().config().view().cors_origins, origin);
}

void ClusterBinding::HandOverIfLeader(std::chrono::milliseconds grace) {
  if (!member_->IsLeader()) return;
  if (auto handed = member_->HandOver("", grace); !handed) {
    spdlog::warn("could not hand leadership over: {}", handed.error().message);
  }
}

void ClusterBinding::Stop() {
  dispatcher_.reset();
  if (recorder_) recorder_->Stop();
  if (member_) member_->Stop();
}

}  // namespace api
