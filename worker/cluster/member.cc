// ClusterMember's lifecycle and the face the API uses (member.h).
#include "worker/cluster/member.h"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "worker/cluster/hex.h"
#include "worker/cluster/identity.h"

namespace cluster {
namespace {

namespace fs = std::filesystem;

// Our own record among the DNS answers: the address the peer port listens on (the pod IP in
// Kubernetes, where the advertised host is the pod's stable DNS name), or the advertised host when
// the port listens on every address.
std::string SelfHost(const MemberOptions& o) {
  if (!o.peer_host.empty() && o.peer_host != "0.0.0.0" && o.peer_host != "::") return o.peer_host;
  return o.advertise_peer.substr(0, o.advertise_peer.rfind(':'));
}

PeerDiscovery DiscoveryOf(const MemberOptions& o) {
  if (o.peers_dns) return PeerDiscovery(*o.peers_dns, SelfHost(o), o.name);
  return PeerDiscovery(o.peers, o.name);
}

// Waits for a Raft request's result, asking `give_up` every 50 ms.
template <class T>
common::Expected<T, Error> Await(std::future<raft::Result<T>> pending, const std::function<bool()>& give_up) {
  while (give_up && pending.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {
    if (give_up()) return common::Fail(ErrorCode::kTimeout, "given up waiting; the request may still take effect");
  }
  auto r = pending.get();
  if (!r) return common::Unexpected{FromRaft(r.error())};
  if constexpr (std::is_void_v<T>) {
    return {};
  } else {
    return std::move(*r);
  }
}

// Why `to` is not fit to lead at once (the leader's view), or nullopt. The transfer itself brings
// a voter a few entries behind up to date; one that needs a snapshot, or has not answered within
// an election timeout, would leave the cluster without a leader until the transfer times out.
// (Not Peer::active: the core clears it at every check-quorum round, healthy peers included.)
std::optional<std::string> WhyLagging(const raft::NodeStatus& st, raft::NodeId to,
                                      std::chrono::milliseconds election_timeout) {
  constexpr raft::Index kMaxLag = 1000;
  for (const auto& p : st.peers) {
    if (p.id != to) continue;
    if (p.last_contact > election_timeout) {
      return "has not answered the leader for " + std::to_string(p.last_contact.count()) + " ms";
    }
    if (p.match + kMaxLag < st.last_index) {
      return "is " + std::to_string(st.last_index - p.match) + " entries behind the leader";
    }
    return std::nullopt;
  }
  return "is not replicated to by the leader";
}

// A member's own request key for a write its client gave none ("m:" keeps it apart from clients').
RequestKey NewRequestKey() { return {"m:" + Hex(RandomBytes(16)), ""}; }

}  // namespace

ClusterMember::ClusterMember(MemberOptions options, common::Metrics& metrics, raft::NodeId id)
    : options_(std::move(options)),
      metrics_(metrics),
      id_(id),
      discovery_(DiscoveryOf(options_)),
      transport_({.self = id,
                  .auth = peer_auth(),
                  .unreachable = [this](raft::NodeId p) { if (auto* n = live_node_.load()) n->ReportUnreachable(p); },
                  .snapshot_done = [this](raft::NodeId p, bool ok) { if (auto* n = live_node_.load()) n->ReportSnapshot(p, ok); }},
                 metrics),
      state_([this](const std::map<raft::NodeId, MemberInfo>& m) { OnMembers(m); }) {}

common::Expected<std::unique_ptr<ClusterMember>, Error> ClusterMember::Start(MemberOptions options,
                                                                            common::Metrics& metrics) {
  if (options.peers_dns && !StatefulSetOrdinal(options.name)) {
    return CannotStart("with --peers-dns the member name must be a StatefulSet pod's, <set>-<ordinal> "
                        "(ordinal 0 bootstraps), not \"" + options.name + "\"");
  }
  std::error_code ec;
  fs::create_directories(options.data_dir, ec);
  if (ec) return CannotStart("cannot create " + options.data_dir + ": " + ec.message());
  auto id = LoadOrCreateIdentity(options.data_dir, options.name);
  if (!id) return common::Unexpected{std::move(id).error()};
  auto storage = raft::RocksStorage::Open((fs::path(options.data_dir) / "raft").string());
  if (!storage) return CannotStart(storage.error().message);
  std::unique_ptr<ClusterMember> member(new ClusterMember(std::move(options), metrics, *id));
  if (auto r = member->Run(std::move(*storage)); !r) return common::Unexpected{std::move(r).error()};
  return member;
}

ClusterMember::~ClusterMember() { Stop(std::chrono::milliseconds(0)); }

template <class T>
common::Expected<T, Error> ClusterMember::UntilLeaderAnswers(
    const std::function<std::future<raft::Result<T>>()>& attempt, const std::function<bool()>& give_up) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + options_.raft.request_timeout;
  const auto expired = [&] { return Clock::now() >= deadline || (give_up && give_up()); };
  const auto orphaned = [&] {  // Leave() says why waiting would be in vain
    const raft::NodeStatus st = Status();
    return !st.conf.contains(id_) || (leaving_ && st.leader == raft::kNone);
  };
  const auto elsewhere = [] {
    return common::Fail(ErrorCode::kLeaving,
                        "this member is leaving the cluster, or is not in its configuration: send the request to "
                        "another member, with the same Idempotency-Key (it may still take effect)");
  };
  for (;;) {
    auto result = Await(attempt(), [&] { return expired() || orphaned(); });
    if (result) return result;
    if (orphaned()) return elsewhere();
    // Refused before anything was appended (no leader; a transfer under way), or lost with the
    // leader it was forwarded to (kTimeout before our deadline): proposing again is safe.
    const ErrorCode code = result.error().code;
    const bool worth_retrying = code == ErrorCode::kNoLeader || code == ErrorCode::kDropped ||
                                (code == ErrorCode::kTimeout && !expired());
    if (!worth_retrying || stopping_) return result;
    do {  // until a leader is known again; a transfer in progress is over within an election timeout
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      if (orphaned()) return elsewhere();
      if (expired() || stopping_) return result;
    } while (Status().leader == raft::kNone);
  }
}

common::Expected<Index, Error> ClusterMember::Commit(std::string command, RequestKey request,
                                                     const std::function<bool()>& give_up) {
  if (request.key.empty()) request = NewRequestKey();
  const std::string payload = WithRequestKey(command, request);
  auto applied = UntilLeaderAnswers<raft::Applied>([&] { return node_->Propose(payload); }, give_up);
  if (!applied) return common::Unexpected{std::move(applied).error()};
  // ClusterState::Apply answers an Outcome for every command.
  if (auto outcome = std::any_cast<Outcome>(applied->response); !outcome) {
    return common::Unexpected{std::move(outcome).error()};
  }
  // When it was proposed more than once, the entry heard back from may be a skipped replay.
  const Index first = state_.requests().FirstIndex(request);
  return first != 0 ? first : applied->index;
}

common::Expected<void, Error> ClusterMember::ConfirmFresh() {
  auto read = UntilLeaderAnswers<raft::Index>([&] { return node_->ReadIndex(); }, nullptr);
  if (!read) return common::Unexpected{std::move(read).error()};
  return {};
}

std::string ClusterMember::Derive(std::string_view input) const { return HmacSha256(options_.secret, input); }

LeaderHint ClusterMember::Leader() const {
  const auto members = state_.members();
  const auto leader = members.find(Status().leader);
  if (leader == members.end()) return {};
  return {leader->second.name, leader->second.http};
}

bool ClusterMember::IsLeader() const { return Status().role == raft::Role::kLeader; }
Index ClusterMember::applied() const { return Status().applied; }
Index ClusterMember::commit() const { return Status().commit; }

bool ClusterMember::AwaitApplied(Index index, std::chrono::milliseconds wait) const {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (applied() < index) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

std::optional<std::string> ClusterMember::NotReady() const {
  const raft::NodeStatus st = Status();
  if (!st.conf.contains(id_)) return "not yet a member of the cluster";
  // A learner counts for no quorum. Ready is what a PodDisruptionBudget counts as healthy: were a
  // learner ready, a drain could evict the next voter while the previous one's replacement still
  // catches up, and leave fewer voters than a quorum.
  if (!st.conf.is_voter(id_)) return "a learner: not yet promoted to voter";
  if (st.leader == raft::kNone) return "no leader known";
  if (st.applied < st.commit) return "applied index behind the commit index";
  return std::nullopt;
}

void ClusterMember::SetPaused(bool paused) {
  outbound_.paused = paused;
  spdlog::warn("cluster: {}", paused ? "cut off: dropping all Raft traffic" : "restored: Raft traffic flows again");
}

raft::NodeId ClusterMember::IdOf(const std::string& name) const {
  for (const auto& [id, info] : state_.members()) {
    if (info.name == name) return id;
  }
  return raft::kNone;
}

common::Expected<std::string, Error> ClusterMember::HandOver(const std::string& target, std::chrono::milliseconds wait) {
  const raft::NodeStatus st = Status();
  if (st.role != raft::Role::kLeader) return common::Fail(ErrorCode::kNotLeader, "this member is not the leader");
  raft::NodeId to = raft::kNone;
  if (!target.empty()) {
    to = IdOf(target);
    if (to == raft::kNone) return common::Fail(ErrorCode::kInvalidTarget, "no member is called " + target);
    if (to == id_) return target;  // already leads
    if (!st.conf.is_voter(to)) return common::Fail(ErrorCode::kInvalidTarget, target + " is a learner, not a voter");
    const auto election_timeout = options_.raft.tick * options_.raft.raft.election_tick;
    if (auto lagging = WhyLagging(st, to, election_timeout)) {
      return common::Fail(ErrorCode::kTargetLagging, target + " " + *lagging);
    }
  } else {
    // The most up-to-date voter, preferring those heard from lately. (Only preferring: the core
    // clears "recently active" at every check-quorum round, so right after one nobody is.)
    std::pair<bool, raft::Index> best{false, 0};
    for (const auto& p : st.peers) {
      if (!st.conf.is_voter(p.id)) continue;
      const std::pair<bool, raft::Index> rank{p.active, p.match};
      if (to == raft::kNone || rank > best) {
        to = p.id;
        best = rank;
      }
    }
    if (to == raft::kNone) return common::Fail(ErrorCode::kInvalidTarget, "no other voter to hand over to");
  }
  const auto members = state_.members();
  const std::string name = members.count(to) ? members.at(to).name : std::to_string(to);
  spdlog::info("cluster: handing leadership to {}", name);
  if (auto r = Await(node_->TransferLeadership(to), nullptr); !r) return common::Unexpected{std::move(r).error()};
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < deadline) {
    if (Status().leader == to) return name;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return common::Fail(ErrorCode::kTimeout, name + " did not take over within the wait");
}

common::Expected<Index, Error> ClusterMember::ChangeMember(MemberAction action, raft::NodeId id,
                                                                const MemberInfo& info) {
  using Type = raft::ConfChange::Type;
  const Type type = action == MemberAction::kAdd ? Type::kAddLearner
                    : action == MemberAction::kPromote ? Type::kPromote
                                                       : Type::kRemove;
  // The leader replicates to a learner as soon as its entry is appended: it needs the address now.
  if (type == Type::kAddLearner) transport_.SetPeer(id, info.peer);
  const std::string context = type == Type::kAddLearner ? EncodeMemberInfo(info) : "";
  return Await(node_->ChangeMembership({type, id, context}), nullptr);
}

void ClusterMember::Stop(std::chrono::milliseconds grace) {
  if (stopping_.exchange(true)) return;
  if (join_thread_.joinable()) join_thread_.join();
  if (duties_thread_.joinable()) duties_thread_.join();
  if (node_) {
    if (grace.count() > 0 && IsLeader()) {
      auto handed = HandOver("", grace);
      if (!handed) spdlog::warn("cluster: could not hand leadership over: {}", handed.error().message);
    }
    node_->Stop();
  }
  live_node_ = nullptr;
  transport_.Stop();
  if (peer_server_) {
    peer_server_->Stop();
    peer_server_->Join();
  }
}

}  // namespace cluster
