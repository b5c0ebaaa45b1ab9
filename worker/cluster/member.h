// ClusterMember: this worker as a member of the Raft group — its identity, durable Raft state,
// peer port, membership (bootstrap, join, promotion) and the replicated ClusterState. The API
// sees a narrow face (commit a command and get its outcome, confirm freshness, the leader hint,
// role and indexes, the views); the Raft node stays inside. Its code is split by concern:
// member.cc (lifecycle and that face), identity.cc, formation.cc (bootstrap, join, promotion),
// peer_routes.cc (the peer port's routes) and views.cc (the JSON views).
//
// Identity. A member's Raft id is drawn at random the first time its data directory is used and
// kept there (`identity`); its name (--node-id, the pod name) is only a label. So a member whose
// directory was wiped comes back as a *new* id: it joins as a learner, and the leader removes the
// stale id that carried the same name first. A wiped node can therefore never vote twice in a
// term under an identity that already voted.
//
// Forming the cluster, for a member with empty storage (the peers to ask and who may bootstrap
// come from PeerDiscovery: the static --peers list or the A records of --peers-dns):
//   - the member allowed to bootstrap (first of the static list; StatefulSet ordinal 0 with DNS)
//     bootstraps a one-voter cluster, unless another member already answers that one exists;
//   - everyone else joins: POST /raft/v1/join to any peer, redirected to the leader, which adds it
//     as a learner; the leader promotes learners to voters once they have caught up.
// A member restarted with its data directory simply resumes as itself.
//
// Peer port routes (cluster secret required on all): the Raft transport's (peer_routes.h), plus
//   POST /raft/v1/join     {id, name, peer, http} -> 200 {members} | 421 {leader_peer} | 503
//   GET  /raft/v1/cluster  -> {leader, members, and this member's raft_id, role, term, commit, applied}
//   GET  /raft/v1/load     -> MemberOptions::load_report()
//   GET  /raft/v1/load/history -> MemberOptions::load_history()
#pragma once

#include <atomic>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/expected.h"
#include "common/metrics.h"
#include "worker/cluster/error.h"
#include "worker/cluster/cluster_state.h"
#include "worker/cluster/peer_call.h"
#include "worker/cluster/peer_discovery.h"
#include "worker/http/router.h"
#include "worker/http/server.h"
#include "worker/raft/node/node.h"
#include "worker/raft/transport/peer_routes.h"
#include "worker/raft/transport/peer_transport.h"

namespace cluster {

struct MemberOptions {
  std::string name;                // --node-id
  std::string data_dir;            // identity and raft/ live here
  std::string peer_host;           // where the peer port listens
  std::uint16_t peer_port = 0;
  std::string advertise_peer;      // host:port others use to reach our peer port
  std::string advertise_http;      // host:port of our API
  std::vector<std::pair<std::string, std::string>> peers;  // static list: name -> peer host:port
  std::optional<DnsPeers> peers_dns;  // or the A records of a name (peer_discovery.h); not with `peers`
  std::string secret;              // the cluster secret
  // Mutual TLS on the peer port (raft/transport/peer_client.h for the trust rule); unset: plain.
  std::optional<http::TlsFiles> peer_tls{};
  raft::NodeOptions raft;          // timings and limits (id and bootstrap are set here)
  // This member's health and load for /cluster/status: {healthy, cpu_pct, mem_pct, qps_1m,
  // p95_ms}. Served to the other members on the peer port (GET /raft/v1/load).
  std::function<nlohmann::json()> load_report{};
  // The last minutes of that load, one sample a second, for /cluster/history: {healthy, samples:
  // [{t, cpu_pct, mem_pct, rps, p95_ms}], oldest first}. Served on the peer port as well.
  std::function<nlohmann::json()> load_history{};
  // Routes the application adds to the peer port (e.g. jobs the leader dispatches here). Each
  // must check the cluster secret itself (raft::transport::RequireClusterSecret).
  std::function<void(http::Router&)> add_peer_routes{};
  // The peer port's compute pool, which runs joins and the jobs the leader dispatches here: the
  // memory budget it shares with the API server, what one job is charged beyond its body, and the
  // nice value of its threads (Raft messages are handled on the IO threads, never lowered).
  std::shared_ptr<http::MemoryBudget> job_memory{};
  std::uint64_t job_working_set_bytes = 64 << 10;
  int compute_nice = 0;
};

// A position in the replicated log.
using Index = raft::Index;

// Where clients should send what needs the leader; empty names while no leader is known.
struct LeaderHint {
  std::string name;     // its --node-id
  std::string address;  // host:port of its API
  bool known() const { return !name.empty(); }
};

class ClusterMember {
 public:
  static common::Expected<std::unique_ptr<ClusterMember>, Error> Start(MemberOptions options,
                                                                      common::Metrics& metrics);
  ~ClusterMember();  // Stop()

  // --- What the API uses (member.cc) ---

  // The replicated state, to read. Reads see what this member has applied; ConfirmFresh first
  // for a read that must see every write acknowledged before it began.
  const ClusterState& state() const { return state_; }
  // Proposes `command` (command.h) and waits until it is applied here (a follower forwards it to
  // the leader): the log index where it took effect (its first entry, when a leader change made
  // this member propose it again), or why not. kRefused: committed, but the state skipped it when
  // applied; kTimeout: the outcome is unknown. `give_up`, asked every 50 ms while waiting, ends
  // the wait early with kTimeout.
  //
  // Elections and leadership transfers cost latency, not errors: while no leader takes the
  // proposal, or when a leader change leaves its fate unknown, the same command is proposed again
  // until the request timeout. `request` (a fresh random key when empty) makes that safe: the
  // state applies a key once (request_log.h).
  common::Expected<Index, Error> Commit(std::string command, RequestKey request = {},
                                        const std::function<bool()>& give_up = nullptr);
  // Read-index (§6.4): returns once this member has applied everything committed before the call.
  // Held, like Commit, while no leader can confirm it.
  common::Expected<void, Error> ConfirmFresh();
  // Bytes every member derives alike from `input` and nobody can without the cluster secret
  // (HMAC-SHA256): e.g. an API key created under a client's Idempotency-Key.
  std::string Derive(std::string_view input) const;
  // How this member's clients call the others' peer ports: the secret, and TLS when configured.
  PeerAuth peer_auth() const { return {options_.secret, options_.peer_tls}; }
  LeaderHint Leader() const;
  bool IsLeader() const;
  Index applied() const;
  Index commit() const;
  // Waits up to `wait` until this member has applied `index`.
  bool AwaitApplied(Index index, std::chrono::milliseconds wait) const;
  // Why this member is not ready (not a voter yet, no leader known, applied behind commit), or
  // nullopt.
  std::optional<std::string> NotReady() const;
  // This member is going away (drained for a removal or a restart). The leader stops talking to a
  // member it has removed, which may then never learn of its removal: from now on a request held
  // here while no leader is known is answered kLeaving at once (a 503: the client sends it, with
  // the same Idempotency-Key, to another member) rather than at the request timeout. So is one
  // held by a member that knows it is outside the configuration, leaving or not.
  void Leave() { leaving_ = true; }

  // Leader only: hands leadership to `target` (a member's name), or to the most up-to-date active
  // voter when empty, and waits up to `wait` for it to take over. Returns the new leader's name.
  // kInvalidTarget: no such member, or a learner; kTargetLagging: far behind or not answering.
  common::Expected<std::string, Error> HandOver(const std::string& target, std::chrono::milliseconds wait);
  // Leader only: one membership change, by name (promote, remove) or with the newcomer's
  // identity (add). Resolves once the change is applied here.
  enum class MemberAction { kAdd, kPromote, kRemove };
  common::Expected<Index, Error> ChangeMember(MemberAction action, raft::NodeId id, const MemberInfo& info);
  // The Raft id of the member called `name`, or kNone.
  raft::NodeId IdOf(const std::string& name) const;

  // A paused member neither sends nor accepts Raft messages (nor snapshots), as a hung or
  // partitioned process would look to its peers (fault injection: /admin/fail pause or isolate).
  // Its own clock keeps running: a paused leader steps down by check-quorum, and on restore it
  // rejoins as a follower. The other peer-port routes (join, cluster, load) keep answering.
  void SetPaused(bool paused);

  // Graceful leave for SIGTERM: a leader first hands leadership to an up-to-date voter (waiting
  // at most `grace`), then everything stops. Idempotent.
  void Stop(std::chrono::milliseconds grace = std::chrono::seconds(3));

  // --- Views (views.cc) ---

  // This member's view, as /raft/status serves it.
  nlohmann::json RaftStatus() const;
  // The prototype's /cluster/status: term, leader_id and every member with its role (Leader,
  // Follower, Learner), health and load, asked of each member (peer port, 300 ms); a member that
  // does not answer is unhealthy, its load figures 0.
  nlohmann::json ClusterStatus() const;
  // GET /api/v1/cluster: this member's view (as RaftStatus, with last_index) and every member with
  // its addresses, suffrage, what it reports of itself on the peer port (role, term, commit,
  // applied; null when it did not answer within 300 ms) and, on the leader only, its replication
  // progress (match, lag, last_contact_ms; null on other members, which do not know it).
  nlohmann::json ClusterView() const;
  // GET /cluster/history: every member's load_history (as MemberOptions says), asked the same way;
  // a member that does not answer is unhealthy with no samples.
  nlohmann::json ClusterHistory() const;
  // GET `path` on every other member's peer port at once (300 ms); status 0 where none answered.
  std::map<raft::NodeId, PeerReply> AskEveryone(const std::map<raft::NodeId, MemberInfo>& members,
                                                const std::string& path) const;

 private:
  ClusterMember(MemberOptions options, common::Metrics& metrics, raft::NodeId id);
  raft::NodeStatus Status() const { return node_->Status(); }
  // What member `id` reported: `own()` for this member, else its object in `replies` (null if none).
  nlohmann::json Reported(raft::NodeId id, const std::map<raft::NodeId, PeerReply>& replies,
                          const std::function<nlohmann::json()>& own) const;

  // Runs `attempt` (a Raft request) again while it fails for want of a leader, until it succeeds,
  // fails otherwise, `give_up` says so or the request timeout passes.
  template <class T>
  common::Expected<T, Error> UntilLeaderAnswers(const std::function<std::future<raft::Result<T>>()>& attempt,
                                                const std::function<bool()>& give_up);

  // Formation (formation.cc).
  common::Expected<void, Error> Run(std::unique_ptr<raft::RocksStorage> storage);
  // Whether a peer answers that a cluster exists; an error when the peers cannot be found.
  common::Expected<bool, Error> ClusterExistsElsewhere();
  void JoinLoop();
  void LeaderDuties();
  void OnMembers(const std::map<raft::NodeId, MemberInfo>& members);

  // Peer-port routes (peer_routes.cc).
  void AddPeerRoutes();
  http::Response Join(http::Request& request);
  http::Response Describe(http::Request& request);

  // Views (views.cc).
  nlohmann::json MembersJson() const;
  nlohmann::json StatusJson(const raft::NodeStatus& st) const;  // RaftStatus() of a given snapshot

  const MemberOptions options_;
  common::Metrics& metrics_;
  const raft::NodeId id_;
  PeerDiscovery discovery_;  // used at start-up, then by the join loop only
  // Node -> transport, unless paused.
  class PausableTransport final : public raft::Transport {
   public:
    explicit PausableTransport(raft::Transport& inner) : inner_(inner) {}
    void Send(std::vector<raft::Message> messages) override {
      if (!paused.load()) inner_.Send(std::move(messages));
    }
    std::atomic<bool> paused{false};

   private:
    raft::Transport& inner_;
  };

  std::atomic<raft::Node*> live_node_{nullptr};  // for the transport's callbacks
  raft::transport::PeerTransport transport_;
  PausableTransport outbound_{transport_};
  ClusterState state_;
  std::unique_ptr<raft::transport::PeerInbox> inbox_;
  http::Router peer_router_;
  std::unique_ptr<http::Server> peer_server_;
  std::unique_ptr<raft::Node> node_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> leaving_{false};
  std::thread join_thread_;
  std::thread duties_thread_;
};

}  // namespace cluster
