#include "operator/members/prober.h"

#include <stop_token>

#include <spdlog/spdlog.h>

#include "operator/kube/transport.h"

namespace stegocluster::members {

// One pod's probing thread and the last view it got.
class MemberProber::Probe {
 public:
  Probe(const MemberProber& owner, std::string cluster, Target target)
      : target_(std::move(target)),
        thread_([this, &owner, cluster = std::move(cluster)](std::stop_token stop) { Run(owner, cluster, stop); }) {}

  const std::string& ip() const { return target_.ip; }
  std::optional<RaftView> view() const {
    std::lock_guard lock(mu_);
    return view_;
  }
  bool probed() const {
    std::lock_guard lock(mu_);
    return probed_;
  }

 private:
  static bool SameShape(const std::optional<RaftView>& a, const std::optional<RaftView>& b) {
    if (a.has_value() != b.has_value()) return false;
    return !a || (a->role == b->role && a->term == b->term && a->raft_id == b->raft_id && a->voters == b->voters &&
                 a->learners == b->learners);
  }

  void Run(const MemberProber& owner, const std::string& cluster, std::stop_token stop) {
    const Fetch fetch = owner.connect_(target_.ip);
    std::mutex wait_mu;
    std::condition_variable_any wake;
    bool first = true;
    while (!stop.stop_requested()) {
      auto view = fetch();
      bool changed;
      {
        std::lock_guard lock(mu_);
        changed = first || !SameShape(view_, view);
        view_ = std::move(view);
        probed_ = true;
      }
      first = false;
      if (changed) owner.on_change_(cluster);
      std::unique_lock lock(wait_mu);
      wake.wait_for(lock, stop, owner.interval_, [] { return false; });
    }
  }

  const Target target_;
  mutable std::mutex mu_;
  std::optional<RaftView> view_;
  bool probed_ = false;
  std::jthread thread_;  // last: stopped and joined first
};

MemberProber::MemberProber(Connect connect, std::chrono::milliseconds interval, OnChange on_change)
    : connect_(std::move(connect)), interval_(interval), on_change_(std::move(on_change)) {}

MemberProber::~MemberProber() {
  std::map<std::string, std::map<std::string, std::unique_ptr<Probe>>> probes;
  {
    std::lock_guard lock(mu_);
    probes.swap(probes_);
  }
}  // joined here, outside the lock: a probe's on_change may be waiting to look at us

void MemberProber::Track(const std::string& cluster, const std::vector<Target>& targets) {
  std::vector<std::unique_ptr<Probe>> stopped;
  {
    std::lock_guard lock(mu_);
    auto& pods = probes_[cluster];
    std::map<std::string, std::unique_ptr<Probe>> next;
    for (const Target& t : targets) {
      auto it = pods.find(t.pod);
      if (it != pods.end() && it->second->ip() == t.ip) {
        next[t.pod] = std::move(it->second);
      } else if (!t.ip.empty()) {
        next[t.pod] = std::make_unique<Probe>(*this, cluster, t);
      }
    }
    for (auto& [pod, probe] : pods) {
      if (probe) stopped.push_back(std::move(probe));
    }
    if (next.empty()) {
      probes_.erase(cluster);
    } else {
      pods = std::move(next);
    }
  }
}  // the stopped probes are joined here, outside the lock

std::optional<RaftView> MemberProber::View(const std::string& cluster, const std::string& pod) const {
  std::lock_guard lock(mu_);
  auto c = probes_.find(cluster);
  if (c == probes_.end()) return std::nullopt;
  auto p = c->second.find(pod);
  return p == c->second.end() ? std::nullopt : p->second->view();
}

bool MemberProber::Probed(const std::string& cluster, const std::string& pod) const {
  std::lock_guard lock(mu_);
  auto c = probes_.find(cluster);
  if (c == probes_.end()) return false;
  auto p = c->second.find(pod);
  return p != c->second.end() && p->second->probed();
}

MemberProber::Connect HttpConnect(int port, std::chrono::milliseconds timeout) {
  return [port, timeout](const std::string& ip) -> MemberProber::Fetch {
    auto made = kube::Transport::Create({.server = "http://" + ip + ":" + std::to_string(port)}, timeout);
    if (!made) {
      spdlog::warn("member at {}: {}", ip, made.error());
      return [] { return std::nullopt; };
    }
    std::shared_ptr<kube::Transport> transport = std::move(*made);
    return [transport]() -> std::optional<RaftView> {
      auto answer = transport->Send({.path = "/raft/status"});
      if (!answer || answer->status != 200) return std::nullopt;
      return ParseRaftStatus(nlohmann::json::parse(answer->body, nullptr, /*allow_exceptions=*/false));
    };
  };
}

}  // namespace stegocluster::members
