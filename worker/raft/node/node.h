// Node: one running Raft member. It owns a thread that drives the pure core (rawnode.h) with a
// clock, durable storage (RocksStorage), a Transport for peer messages and the application's
// StateMachine — the loop that rawnode.h describes, done once, correctly, for every caller.
//
//   auto node = raft::Node::Start(options, std::move(storage), state_machine, transport);
//   auto applied = (*node)->Propose("payload");  // future: the index and what Apply answered
//   transport delivers peers' messages with (*node)->Receive(messages);
//
// Threading: every public method is thread-safe and returns without waiting for the loop; results
// come back through futures. The StateMachine's methods and Transport::Send are called only on
// the node's thread, in log order.
//
// Acknowledgement: a Propose future succeeds only once the entry is committed and applied here,
// so an acknowledged write survives any minority of crashes. A future that fails with kTimeout
// has an unknown outcome (the entry may still commit); callers that retry must make their
// writes idempotent.
#pragma once

#include <any>
#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "worker/raft/config.h"
#include "worker/raft/message.h"
#include "worker/raft/rawnode.h"
#include "worker/raft/rocksdb/rocks_storage.h"
#include "worker/raft/types.h"

namespace raft {

// What applying an entry answered (the application's outcome, e.g. "refused: no such key"),
// handed back to the member that proposed it. Opaque to Raft, which only carries it; the
// application reads it with std::any_cast of the type its Apply returns.
using ApplyResponse = std::any;

// A proposal's result: where it was applied, and what the state machine answered.
struct Applied {
  Index index = 0;
  ApplyResponse response;
};

// The replicated application. Called on the node's thread only.
class StateMachine {
 public:
  virtual ~StateMachine() = default;
  // A committed client entry, in log order, once per index in this process's lifetime (after a
  // restart, replay starts after the restored snapshot). The answer reaches the proposer's
  // future on this member; on the others it is dropped.
  virtual ApplyResponse Apply(Index index, std::string_view payload) = 0;
  // A committed membership change; the core already uses the new configuration.
  virtual void ApplyConf(Index index, const ConfEntry& entry) = 0;
  // The state as of the last applied index (taken for log compaction).
  virtual std::string Snapshot() = 0;
  // Replaces the state with a snapshot's (at start-up, or one received from the leader). An error
  // (kCorruptState: the snapshot cannot be read) stops the node like damaged storage: at start-up
  // Node::Start fails with it; later the process ends with the message (logger.h's Fatal).
  virtual Result<void> Restore(Index index, std::string_view data) = 0;
};

// Carries messages to peers. Send must not block on the network: queue and return.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual void Send(std::vector<Message> messages) = 0;
};

struct NodeOptions {
  Config raft;                                   // id, timings, limits (config.h)
  std::chrono::milliseconds tick{10};            // what one core tick is worth
  std::uint64_t snapshot_every = 10'000;         // applied entries between snapshots
  std::uint64_t compaction_margin = 5'000;       // entries kept behind a snapshot for laggards
  std::chrono::milliseconds request_timeout{5'000};  // Propose/ReadIndex/ChangeMembership
  // Members of a brand-new cluster. Used only when the storage is empty; a server joining an
  // existing cluster leaves it empty and is added by the leader.
  std::optional<ConfState> bootstrap;
  std::string bootstrap_context;  // context of the bootstrap entry (identical on every initial member)
};

struct NodeStatus {
  NodeId id = kNone;
  Role role = Role::kFollower;
  Term term = 0;
  NodeId leader = kNone;
  Index commit = 0;
  Index applied = 0;
  Index last_index = 0;
  Index snapshot_index = 0;
  ConfState conf;
  NodeId transferee = kNone;
  struct Peer {
    NodeId id = kNone;
    Index match = 0;
    Index next = 0;
    bool active = false;  // heard from within the last election timeout
    // Since the leader last heard from it (or since it became leader, or the peer joined).
    std::chrono::milliseconds last_contact{0};
  };
  std::vector<Peer> peers;  // the leader's view of its followers; empty elsewhere
};

class Node {
 public:
  static Result<std::unique_ptr<Node>> Start(NodeOptions options,
                                             std::unique_ptr<RocksStorage> storage,
                                             StateMachine& state_machine, Transport& transport);
  ~Node();  // Stop()
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Replicates `payload`; resolves once it is applied here, with its index and what the state
  // machine's Apply answered. Followers forward to the leader. Fails at once with
  // kNoLeader/kProposalDropped when it cannot be accepted.
  std::future<Result<Applied>> Propose(std::string payload);
  // Linearizable read (§6.4): resolves once this node has applied everything committed before
  // the call, with that index. The caller then reads its state machine.
  std::future<Result<Index>> ReadIndex();
  // Leader only: one membership change; resolves with the index of the applied change.
  std::future<Result<Index>> ChangeMembership(ConfChange change);
  // Leader only: starts a leadership transfer (§3.10) to voter `to`; watch Status() for the result.
  std::future<Result<void>> TransferLeadership(NodeId to);

  // From the transport.
  void Receive(std::vector<Message> messages);
  void ReportUnreachable(NodeId peer);
  void ReportSnapshot(NodeId peer, bool ok);

  NodeStatus Status() const;

  // Stops the loop; pending futures fail with kStopped. Idempotent.
  void Stop();

 private:
  class Loop;
  explicit Node(std::unique_ptr<Loop> loop);
  std::unique_ptr<Loop> loop_;
};

}  // namespace raft
