// The sending side of the peer transport: a raft::Transport that posts message batches to each
// peer's /raft/v1/messages (peer_routes.h) with cpprestsdk's http_client.
//
// Per peer: one bounded queue and one sender thread. The thread takes everything queued (up to
// max_batch_bytes) into one request, so a busy leader sends few large requests and an idle one
// sends heartbeats as they come; at most one request per peer is in flight and order is kept.
// Send() never blocks: a full queue drops the message (Raft retransmits what matters) and counts
// it. A failed request drops its batch, reports the peer unreachable (the leader falls back to
// probing it) and backs off exponentially before the next attempt.
//
// Snapshot messages go alone, as chunks of snapshot_chunk_bytes to /raft/v1/snapshot; the outcome
// is reported through snapshot_done so the leader resumes replication or retries.
//
// Peer addresses ("host:port") are set with SetPeer, e.g. from the static peer list or from the
// context of a membership change; messages to a peer without an address are dropped and the peer
// reported unreachable.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "worker/raft/node/node.h"
#include "worker/raft/transport/peer_client.h"

namespace raft::transport {

struct PeerTransportOptions {
  NodeId self = kNone;
  PeerAuth auth;                                   // the cluster secret, and TLS if the peer ports have it
  std::size_t max_queue_messages = 4096;           // per peer
  std::uint64_t max_batch_bytes = 4ULL << 20;      // per request (at least one message)
  std::uint64_t snapshot_chunk_bytes = 1ULL << 20;
  std::chrono::milliseconds request_timeout{2'000};
  std::chrono::milliseconds backoff_min{20};
  std::chrono::milliseconds backoff_max{1'000};
  std::function<void(NodeId)> unreachable;         // e.g. Node::ReportUnreachable
  std::function<void(NodeId, bool)> snapshot_done;  // e.g. Node::ReportSnapshot
};

class PeerTransport final : public Transport {
 public:
  PeerTransport(PeerTransportOptions options, common::Metrics& metrics);
  ~PeerTransport() override;  // Stop()

  void SetPeer(NodeId id, std::string address);
  void RemovePeer(NodeId id);
  std::map<NodeId, std::string> Peers() const;

  void Send(std::vector<Message> messages) override;

  // Stops every sender thread; queued messages are dropped. Idempotent.
  void Stop();

 private:
  class Sender;
  PeerTransportOptions options_;
  common::Metrics& metrics_;
  mutable std::mutex mu_;
  std::map<NodeId, std::unique_ptr<Sender>> senders_;
  bool stopped_ = false;
};

}  // namespace raft::transport
