#include "operator/kube/leader_election.h"

#include <spdlog/spdlog.h>

#include "operator/kube/watch.h"

namespace kube {

LeaderElector::LeaderElector(Client& client, LeaderElectionOptions options, LeaderCallbacks callbacks)
    : client_(client), options_(std::move(options)), callbacks_(std::move(callbacks)) {}

bool LeaderElector::IsLeader() const {
  std::lock_guard lock(mu_);
  return leading_;
}

std::string LeaderElector::ObservedLeader() const {
  std::lock_guard lock(mu_);
  return observed_spec_.is_object() ? observed_spec_.value("holderIdentity", "") : "";
}

void LeaderElector::Observe(const Json& answered) {
  const Json spec = answered.is_object() ? answered : Json::object();
  std::string before, after;
  {
    std::lock_guard lock(mu_);
    if (spec == observed_spec_) return;
    before = observed_spec_.is_object() ? observed_spec_.value("holderIdentity", "") : "";
    after = spec.value("holderIdentity", "");
    observed_spec_ = spec;
    observed_at_ = std::chrono::steady_clock::now();
  }
  if (before != after && callbacks_.on_new_leader) callbacks_.on_new_leader(after);
}

bool LeaderElector::TryAcquireOrRenew() {
  const WallTime now = std::chrono::system_clock::now();
  const auto duration_s = std::chrono::duration_cast<std::chrono::seconds>(options_.lease_duration).count();
  const std::string now_text = FormatMicroTime(now);

  auto lease = client_.Get(resources::kLeases, options_.ns, options_.name);
  if (!lease && lease.error().NotFound()) {
    const Json spec = {{"holderIdentity", options_.identity}, {"leaseDurationSeconds", duration_s},
                       {"acquireTime", now_text}, {"renewTime", now_text}, {"leaseTransitions", 0}};
    auto created = client_.Create(resources::kLeases, options_.ns,
                                  {{"apiVersion", "coordination.k8s.io/v1"}, {"kind", "Lease"},
                                   {"metadata", {{"name", options_.name}, {"namespace", options_.ns}}},
                                   {"spec", spec}});
    if (!created) {
      spdlog::debug("leader election: {}", created.error().Describe());
      return false;
    }
    Observe((*created)["spec"]);
    return true;
  }
  if (!lease) {
    spdlog::warn("leader election: {}", lease.error().Describe());
    return false;
  }
  const Json spec = (*lease)["spec"].is_object() ? (*lease)["spec"] : Json::object();
  Observe(spec);
  const std::string holder = spec.value("holderIdentity", "");
  {
    std::lock_guard lock(mu_);
    const auto held_for = std::chrono::seconds(spec.value("leaseDurationSeconds", 0));
    if (!holder.empty() && holder != options_.identity && std::chrono::steady_clock::now() < observed_at_ + held_for) {
      return false;  // someone else holds an unexpired lease
    }
  }
  Json next = spec;
  if (holder != options_.identity) {
    next["acquireTime"] = now_text;
    next["leaseTransitions"] = spec.value("leaseTransitions", 0) + 1;
  }
  next["holderIdentity"] = options_.identity;
  next["leaseDurationSeconds"] = duration_s;
  next["renewTime"] = now_text;
  Json updated = *lease;
  updated["spec"] = next;  // carries metadata.resourceVersion: a racing writer makes this a 409
  auto written = client_.Update(resources::kLeases, options_.ns, updated);
  if (!written) {
    spdlog::debug("leader election: {}", written.error().Describe());
    return false;
  }
  Observe((*written)["spec"]);
  return true;
}

void LeaderElector::Release() {
  auto lease = client_.Get(resources::kLeases, options_.ns, options_.name);
  if (!lease || !(*lease)["spec"].is_object() || (*lease)["spec"].value("holderIdentity", "") != options_.identity) {
    return;
  }
  const std::string now_text = FormatMicroTime(std::chrono::system_clock::now());
  Json updated = *lease;
  updated["spec"]["holderIdentity"] = "";
  updated["spec"]["leaseDurationSeconds"] = 1;
  updated["spec"]["renewTime"] = now_text;
  updated["spec"]["acquireTime"] = now_text;
  if (auto written = client_.Update(resources::kLeases, options_.ns, updated); !written) {
    spdlog::warn("leader election: releasing the lease: {}", written.error().Describe());
  }
}

void LeaderElector::Run(std::stop_token stop) {
  // Campaign.
  while (!TryAcquireOrRenew()) {
    if (!SleepFor(options_.retry_period, stop)) return;
  }
  {
    std::lock_guard lock(mu_);
    leading_ = true;
  }
  spdlog::info("leader election: {} leads {}/{}", options_.identity, options_.ns, options_.name);
  if (callbacks_.on_started_leading) callbacks_.on_started_leading();

  // Lead: renew until a renewal has failed for renew_deadline, or until stopped.
  auto renewed_at = std::chrono::steady_clock::now();
  while (SleepFor(options_.retry_period, stop)) {
    if (TryAcquireOrRenew()) {
      renewed_at = std::chrono::steady_clock::now();
    } else if (std::chrono::steady_clock::now() - renewed_at >= options_.renew_deadline) {
      spdlog::warn("leader election: {} lost {}/{}: no renewal for {} ms", options_.identity, options_.ns,
                   options_.name, options_.renew_deadline.count());
      break;
    }
  }
  if (stop.stop_requested() && options_.release_on_cancel) Release();
  {
    std::lock_guard lock(mu_);
    leading_ = false;
  }
  if (callbacks_.on_stopped_leading) callbacks_.on_stopped_leading();
}

}  // namespace kube
