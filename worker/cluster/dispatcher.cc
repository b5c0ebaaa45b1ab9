#include "worker/cluster/dispatcher.h"

#include <algorithm>
#include <cstdlib>
#include <set>

#include <spdlog/spdlog.h>

#include "worker/cluster/member.h"
#include "worker/cluster/peer_call.h"
#include "worker/raft/transport/peer_routes.h"

namespace cluster {

using json = nlohmann::json;

namespace {

constexpr const char* kMemberHeader = "X-Stego-Member";
constexpr const char* kAppliedHeader = "X-Stego-Commit-Index";  // the leader's, when it dispatched

// The request as the member that runs it must see it.
HeaderPairs ForwardedHeaders(const http::Request& request, raft::Index commit) {
  HeaderPairs out{{"X-Request-Id", request.request_id}, {kAppliedHeader, std::to_string(commit)}};
  for (const char* name : {"Content-Type", "Accept"}) {
    if (auto v = request.Header(name)) out.emplace_back(name, std::string(*v));
  }
  return out;
}

std::string QueryOf(const http::Request& request) {
  const auto q = request.target.find('?');
  return q == std::string::npos ? "" : request.target.substr(q);
}

// The member's answer as ours: its status, content type and own fields, not the hop's.
http::Response Relayed(PeerExchange exchange) {
  http::Response r;
  r.status = exchange.status;
  r.body = std::move(exchange.body);
  for (auto& [name, value] : exchange.headers) {
    if (http::EqualsIgnoreCase(name, "Content-Type")) {
      r.content_type = std::move(value);
    } else if (http::EqualsIgnoreCase(name, "Content-Disposition") || http::EqualsIgnoreCase(name, kMemberHeader) ||
               http::EqualsIgnoreCase(name, "Retry-After")) {
      r.headers.Add(std::move(name), std::move(value));
    }
  }
  return r;
}

bool MemberFailed(int status) { return status == 0 || status == 502 || status == 503 || status == 504; }

}  // namespace

http::Handler JobTable::Add(const std::string& route, http::Handler job) {
  http::Handler counted = [this, job = std::move(job)](http::Request& request) {
    ++in_flight_;
    struct Done {
      std::atomic<int>& n;
      ~Done() { --n; }
    } done{in_flight_};
    return job(request);  // which names this member (api/stego_routes.h)
  };
  std::lock_guard lk(mu_);
  jobs_[route] = counted;
  return counted;
}

http::Response JobTable::Run(const std::string& route, http::Request& request) const {
  http::Handler job;
  {
    std::lock_guard lk(mu_);
    auto it = jobs_.find(route);
    if (it == jobs_.end()) {
      return http::Response::Error(request, 404, "no_such_job", "no such job", "this member runs no job " + route);
    }
    job = it->second;
  }
  return job(request);
}

void AddPeerJobRoutes(http::Router& peer_router, const JobTable& jobs, JobRouteOptions options) {
  auto run = [&jobs, options = std::move(options)](http::Request& request) {
    if (auto refusal = raft::transport::RequireClusterSecret(request, options.secret)) return std::move(*refusal);
    if (options.paused()) {
      return http::Response::Error(request, 503, "paused", "member paused", "fault injection: not taking jobs");
    }
    const auto index = request.Header(kAppliedHeader);
    if (!index || !options.caught_up_to(std::strtoull(std::string(*index).c_str(), nullptr, 10))) {
      return http::Response::Error(request, 503, "behind", "member behind the leader",
                                   "this member has not applied the log as far as the leader's commit index");
    }
    return jobs.Run(std::string(request.Param("route")), request);
  };
  peer_router.Add("POST", "/raft/v1/jobs/{route}", std::move(run), {.name = "raft_job", .compute = true});
}

Dispatcher::Dispatcher(ClusterMember& member, JobTable& jobs, DispatcherOptions options, common::Metrics& metrics)
    : member_(member),
      jobs_(jobs),
      options_(std::move(options)),
      placed_(metrics.CounterFamily("stego_dispatch_total",
                                    "Jobs the leader placed: on itself, on another member, or on itself after "
                                    "the members tried had failed them.",
                                    {"placed"})),
      failures_(metrics.GetCounter("stego_dispatch_member_failures_total",
                                   "Dispatched jobs a member failed (no answer, 502/503/504); each was tried "
                                   "again elsewhere.")),
      beat_thread_([this] { BeatLoop(); }) {}

Dispatcher::~Dispatcher() {
  {
    std::lock_guard lk(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  beat_thread_.join();
}

void Dispatcher::BeatLoop() {
  std::unique_lock lk(stop_mu_);
  while (!stop_cv_.wait_for(lk, options_.load_period, [this] { return stopping_; })) {
    lk.unlock();
    // Only the leader places jobs; followers skip the traffic.
    if (member_.IsLeader()) CollectBeats();
    lk.lock();
  }
}

void Dispatcher::CollectBeats() {
  const auto members = member_.state().members();
  const auto replies = member_.AskEveryone(members, "/raft/v1/load");
  const auto now = std::chrono::steady_clock::now();
  const raft::Index commit = member_.commit();
  std::lock_guard lk(mu_);
  std::erase_if(beats_, [&](const auto& b) { return !members.contains(b.first); });
  for (const auto& [id, r] : replies) {
    Beat& beat = beats_[id];
    beat.name = members.at(id).name;
    beat.peer = members.at(id).peer;
    if (r.status != 200 || !r.body.is_object()) {
      beat.healthy = false;  // the last good beat ages out; the member is skipped meanwhile
      continue;
    }
    beat.healthy = r.body.value("healthy", false);
    beat.in_flight = r.body.value("in_flight", 0);
    beat.caught_up = r.body.value("applied", raft::Index{0}) + options_.max_lag >= commit;
    beat.at = now;
  }
}

raft::NodeId Dispatcher::Pick(const std::vector<raft::NodeId>& tried) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lk(mu_);
  std::vector<std::pair<int, raft::NodeId>> candidates;  // (jobs in flight, id); kNone is us
  if (std::find(tried.begin(), tried.end(), raft::kNone) == tried.end()) {
    candidates.emplace_back(jobs_.in_flight(), raft::kNone);
  }
  for (const auto& [id, beat] : beats_) {
    if (!beat.healthy || !beat.caught_up || now - beat.at > options_.stale_after) continue;
    if (std::find(tried.begin(), tried.end(), id) != tried.end()) continue;
    candidates.emplace_back(std::max(beat.in_flight, beat.outstanding), id);
  }
  if (candidates.empty()) return raft::kNone;
  // The least loaded; among equals, the one whose turn it is.
  const std::size_t start = turn_++ % candidates.size();
  std::size_t best = start;
  for (std::size_t k = 1; k < candidates.size(); ++k) {
    const std::size_t i = (start + k) % candidates.size();
    if (candidates[i].first < candidates[best].first) best = i;
  }
  return candidates[best].second;
}

http::Handler Dispatcher::Relay(const http::Request&, const std::string& route) {
  if (!member_.IsLeader()) return {};
  const raft::NodeId target = Pick({});
  if (target == raft::kNone) {
    placed_.WithLabels({"self"}).Inc();
    return {};
  }
  return [this, route, target](http::Request& request) { return RunDispatched(route, target, request); };
}

http::Response Dispatcher::RunDispatched(const std::string& route, raft::NodeId first, http::Request& request) {
  std::vector<raft::NodeId> tried;
  for (raft::NodeId target = first; target != raft::kNone; target = Pick(tried)) {
    http::Response r = RunAt(target, route, request);
    if (!MemberFailed(r.status)) {
      placed_.WithLabels({"member"}).Inc();
      return r;
    }
    failures_.Inc();
    tried.push_back(target);
  }
  // The leader itself was the next best, or every other member failed: it runs the job.
  placed_.WithLabels({"self_after_failures"}).Inc();
  return jobs_.Run(route, request);
}

http::Response Dispatcher::RunAt(raft::NodeId target, const std::string& route, http::Request& request) {
  std::string peer;
  {
    std::lock_guard lk(mu_);
    Beat& beat = beats_[target];
    peer = beat.peer;
    ++beat.outstanding;
  }
  PeerExchange e = ExchangeWithPeer(peer, "POST", "/raft/v1/jobs/" + route + QueryOf(request), options_.peer,
                                    ForwardedHeaders(request, member_.commit()), request.body,
                                    options_.job_timeout);
  std::lock_guard lk(mu_);
  Beat& beat = beats_[target];
  --beat.outstanding;
  if (MemberFailed(e.status)) {
    spdlog::warn("dispatch: {} failed job {} of request {} (status {}); trying elsewhere", beat.name, route,
                 request.request_id, e.status);
    beat.healthy = false;  // until its next good beat
    return http::Response::Error(request, 503, "member_failed", "the member running the job failed",
                                 beat.name + " answered " + std::to_string(e.status));
  }
  return Relayed(std::move(e));
}

}  // namespace cluster
