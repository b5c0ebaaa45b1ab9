// The receiving side of the peer transport: the routes a member serves on its peer port.
//
//   POST /raft/v1/messages   body: one encoded batch (codec.h)
//   POST /raft/v1/snapshot   body: one chunk of an encoded single-message batch carrying a
//                            snapshot; headers X-Raft-Snapshot-Id, -Offset, -Size
//
// Every request must carry `Authorization: Bearer <cluster secret>` and `X-Raft-From: <id>`.
// Anything else gets 401 and is never decoded, let alone handed to the core. Decoded messages must
// come from the sender the header names and be addressed to this member (400 otherwise): a member
// restarted under another id, or a misrouted address, is refused rather than believed.
//
// Snapshot chunks are reassembled per sender, strictly in order (409 otherwise, and the sender
// starts over); a new snapshot id from the same sender replaces an unfinished one. The assembled
// size is bounded by max_snapshot_bytes before any memory is reserved.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "worker/http/router.h"
#include "worker/raft/message.h"

namespace raft::transport {

// 401 (JSON, WWW-Authenticate) unless the request carries `Authorization: Bearer <secret>`;
// nullopt when it does. For every route on the peer port.
std::optional<http::Response> RequireClusterSecret(const http::Request& request, std::string_view secret);

struct PeerInboxOptions {
  NodeId self = kNone;
  std::string secret;                          // the cluster secret; must not be empty
  std::uint64_t max_batch_bytes = 16ULL << 20;  // one /messages body
  std::uint64_t max_chunk_bytes = 4ULL << 20;   // one /snapshot body
  std::uint64_t max_snapshot_bytes = 1ULL << 30;
  // Receives every accepted batch, e.g. Node::Receive. Called on an HTTP IO thread; must not block.
  std::function<void(std::vector<Message>)> deliver;
};

class PeerInbox {
 public:
  PeerInbox(PeerInboxOptions options, common::Metrics& metrics);
  ~PeerInbox();

  // Adds the routes above. The inbox must outlive the server that serves them.
  void AddRoutes(http::Router& router);

 private:
  struct Assembly;
  http::Response Messages(http::Request& request);
  http::Response SnapshotChunk(http::Request& request);
  // Non-null when the request is refused (401/400); the sender's id otherwise goes to `from`.
  std::optional<http::Response> Admit(const http::Request& request, NodeId& from);
  std::optional<http::Response> Deliver(const http::Request& request, NodeId from,
                                        std::string_view batch);

  const PeerInboxOptions options_;
  common::Family<common::Counter>& received_;
  common::Family<common::Counter>& refused_;
  std::mutex mu_;
  std::map<NodeId, std::unique_ptr<Assembly>> assemblies_;  // by sender
};

}  // namespace raft::transport
