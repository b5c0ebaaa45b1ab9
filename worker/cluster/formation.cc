// ClusterMember's formation: start-up (bootstrap or join, replay), the join loop and the leader's
// promotion of caught-up learners (member.h describes the protocol).
#include <spdlog/spdlog.h>

#include "worker/cluster/member.h"
#include "worker/cluster/peer_call.h"

namespace cluster {
namespace {

using json = nlohmann::json;

// How long an ordinal 0 waits for --peers-dns to resolve before giving up (and exiting, so that
// the failure shows as a restarting pod rather than as a member stuck in silence).
constexpr auto kResolveWait = std::chrono::seconds(30);

}  // namespace

common::Expected<void, Error> ClusterMember::Run(std::unique_ptr<raft::RocksStorage> storage) {
  AddPeerRoutes();
  std::shared_ptr<http::ServerTls> tls;
  if (options_.peer_tls) {
    // Mutual: a client must show a certificate of the cluster's CA naming kPeerName.
    http::TlsFiles files = *options_.peer_tls;
    files.client_name = raft::transport::kPeerName;
    auto loaded = http::ServerTls::Load(std::move(files));
    if (!loaded) return CannotStart("peer TLS: " + loaded.error());
    tls = std::move(*loaded);
  }
  peer_server_ = std::make_unique<http::Server>(
      http::ServerOptions{.host = options_.peer_host,
                          .port = options_.peer_port,
                          .compute_threads = 2,
                          .memory_budget = options_.job_memory,
                          .default_working_set_bytes = options_.job_working_set_bytes,
                          .compute_nice = options_.compute_nice,
                          .tls = std::move(tls)},
      peer_router_, metrics_);
  if (auto p = peer_server_->Start(); !p) {
    return CannotStart("peer port " + options_.peer_host + ":" + std::to_string(options_.peer_port) + ": " + p.error());
  }

  const bool fresh = storage->last_index() == 0 && storage->hard_state().empty();
  const raft::Index known_committed = storage->hard_state().commit;
  raft::NodeOptions node_options = options_.raft;
  node_options.raft.id = id_;
  bool bootstrap = false;
  if (fresh && discovery_.MayBootstrap()) {
    auto exists = ClusterExistsElsewhere();
    if (!exists) return common::Unexpected{std::move(exists).error()};
    bootstrap = !*exists;
  }
  if (bootstrap) {
    node_options.bootstrap = raft::ConfState{{id_}, {}};
    node_options.bootstrap_context =
        EncodeMemberInfo({options_.name, options_.advertise_peer, options_.advertise_http});
  }
  auto node = raft::Node::Start(node_options, std::move(storage), state_, outbound_);
  if (!node) return CannotStart(node.error().message);
  node_ = std::move(*node);
  live_node_ = node_.get();
  // Replay what this member knew to be committed before it serves: until then its API keys, covers
  // and configuration would be older than what it may already have acknowledged.
  if (!AwaitApplied(known_committed, std::chrono::seconds(30))) {
    return CannotStart("could not replay the log to its commit index " + std::to_string(known_committed) +
                       " within 30 s");
  }
  spdlog::info("cluster: member {} (raft id {}) {}", options_.name, id_,
               bootstrap ? "bootstrapped a new cluster" : fresh ? "is joining" : "resumed from its data directory");
  if (fresh && !bootstrap) join_thread_ = std::thread([this] { JoinLoop(); });
  duties_thread_ = std::thread([this] { LeaderDuties(); });
  return {};
}

common::Expected<bool, Error> ClusterMember::ClusterExistsElsewhere() {
  auto peers = discovery_.Peers();
  for (const auto deadline = std::chrono::steady_clock::now() + kResolveWait;
       !peers && std::chrono::steady_clock::now() < deadline;) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    peers = discovery_.Peers();
  }
  if (!peers) {
    return CannotStart(discovery_.Describe() +
                       " does not resolve: cannot tell whether a cluster exists, so this member does not bootstrap one");
  }
  for (const std::string& address : *peers) {
    // A member that is itself starting (503) may hold the cluster on disk: ask again, briefly.
    PeerReply r;
    for (int attempt = 0; attempt <= 20 && (attempt == 0 || r.status == 503); ++attempt) {
      if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      r = CallPeer(address, "GET", "/raft/v1/cluster", peer_auth(), nullptr, std::chrono::milliseconds(1000));
    }
    if (r.status == 200 && r.body.is_object() && !r.body["members"].empty()) return true;
  }
  return false;
}

void ClusterMember::JoinLoop() {
  const json body = {{"id", id_}, {"name", options_.name}, {"peer", options_.advertise_peer},
                     {"http", options_.advertise_http}};
  while (!stopping_) {
    for (const std::string& address : discovery_.Peers().value_or(std::vector<std::string>{})) {
      if (stopping_) break;
      std::string target = address;
      for (int hop = 0; hop < 3; ++hop) {
        const PeerReply r = CallPeer(target, "POST", "/raft/v1/join", peer_auth(), body,
                                     std::chrono::milliseconds(8000));
        if (r.status == 200) {
          for (const auto& m : r.body["members"]) {
            if (m["raft_id"] != id_) transport_.SetPeer(m["raft_id"], m["peer"]);
          }
          spdlog::info("cluster: joined through {} as a learner", target);
          return;
        }
        if (r.status != 421 || !r.body.contains("leader_peer")) break;
        target = r.body["leader_peer"];
      }
    }
    for (int i = 0; i < 10 && !stopping_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// The leader promotes learners once they hold everything committed (one change at a time).
void ClusterMember::LeaderDuties() {
  while (!stopping_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const raft::NodeStatus st = Status();
    if (st.role != raft::Role::kLeader || st.transferee != raft::kNone) continue;
    for (const auto& p : st.peers) {
      if (!st.conf.is_learner(p.id) || p.match < st.commit) continue;
      auto r = node_->ChangeMembership({raft::ConfChange::Type::kPromote, p.id, ""}).get();
      if (r) spdlog::info("cluster: promoted {} to voter at index {}", p.id, *r);
      break;
    }
  }
}

void ClusterMember::OnMembers(const std::map<raft::NodeId, MemberInfo>& members) {
  for (const auto& [id, info] : members) {
    if (id != id_) transport_.SetPeer(id, info.peer);
  }
}

}  // namespace cluster
