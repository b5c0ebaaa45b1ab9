#include "worker/raft/transport/peer_routes.h"

#include <charconv>
#include <utility>

#include "worker/http/auth.h"
#include "worker/raft/transport/codec.h"

namespace raft::transport {
namespace {

// A header holding a decimal u64, or nullopt when absent or malformed.
std::optional<std::uint64_t> NumberHeader(const http::Request& request, std::string_view name) {
  const auto v = request.Header(name);
  if (!v || v->empty()) return std::nullopt;
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || end != v->data() + v->size()) return std::nullopt;
  return n;
}

http::Response NoContent() {
  http::Response r;
  r.status = 204;
  return r;
}

}  // namespace

struct PeerInbox::Assembly {
  std::string id;
  std::uint64_t size = 0;
  std::string bytes;
};

PeerInbox::PeerInbox(PeerInboxOptions options, common::Metrics& metrics)
    : options_(std::move(options)),
      received_(metrics.CounterFamily("raft_transport_received_messages_total",
                                      "Raft messages accepted from peers, by sender.", {"peer"})),
      refused_(metrics.CounterFamily("raft_transport_refused_requests_total",
                                     "Peer requests refused before reaching the core, by reason.",
                                     {"reason"})) {}

PeerInbox::~PeerInbox() = default;

void PeerInbox::AddRoutes(http::Router& router) {
  router.Add("POST", "/raft/v1/messages", [this](http::Request& r) { return Messages(r); },
             {.name = "raft_messages", .quiet = true, .max_body_bytes = options_.max_batch_bytes});
  router.Add("POST", "/raft/v1/snapshot", [this](http::Request& r) { return SnapshotChunk(r); },
             {.name = "raft_snapshot", .max_body_bytes = options_.max_chunk_bytes});
}

std::optional<http::Response> RequireClusterSecret(const http::Request& request, std::string_view secret) {
  const auto token = http::BearerToken(request);
  if (token && http::SameSecret(*token, secret)) return std::nullopt;
  auto r = http::Response::Error(request, 401, "unauthorized", "cluster secret required",
                                 "peer requests need Authorization: Bearer <cluster secret>");
  r.headers.Set("WWW-Authenticate", "Bearer");
  return r;
}

std::optional<http::Response> PeerInbox::Admit(const http::Request& request, NodeId& from) {
  if (auto refusal = RequireClusterSecret(request, options_.secret)) {
    refused_.WithLabels({"unauthorized"}).Inc();
    return refusal;
  }
  const auto sender = NumberHeader(request, "X-Raft-From");
  if (!sender || *sender == kNone) {
    refused_.WithLabels({"bad_request"}).Inc();
    return http::Response::Error(request, 400, "bad_raft_request", "missing sender",
                                 "X-Raft-From must name the sending member's id");
  }
  from = *sender;
  return std::nullopt;
}

std::optional<http::Response> PeerInbox::Deliver(const http::Request& request, NodeId from,
                                                 std::string_view batch) {
  auto messages = DecodeBatch(batch);
  if (!messages) {
    refused_.WithLabels({"malformed"}).Inc();
    return http::Response::Error(request, 400, "bad_raft_message", "malformed message batch",
                                 messages.error().message);
  }
  for (const Message& m : *messages) {
    if (m.from != from || m.to != options_.self) {
      refused_.WithLabels({"misaddressed"}).Inc();
      return http::Response::Error(
          request, 400, "misaddressed_raft_message", "message not from the sender or not for us",
          "message from " + std::to_string(m.from) + " to " + std::to_string(m.to) + " sent by " +
              std::to_string(from) + " to member " + std::to_string(options_.self));
    }
  }
  received_.WithLabels({std::to_string(from)}).Inc(static_cast<double>(messages->size()));
  options_.deliver(std::move(*messages));
  return std::nullopt;
}

http::Response PeerInbox::Messages(http::Request& request) {
  NodeId from = kNone;
  if (auto refusal = Admit(request, from)) return std::move(*refusal);
  if (auto refusal = Deliver(request, from, request.body)) return std::move(*refusal);
  return NoContent();
}

http::Response PeerInbox::SnapshotChunk(http::Request& request) {
  NodeId from = kNone;
  if (auto refusal = Admit(request, from)) return std::move(*refusal);
  const auto id = request.Header("X-Raft-Snapshot-Id");
  const auto offset = NumberHeader(request, "X-Raft-Snapshot-Offset");
  const auto size = NumberHeader(request, "X-Raft-Snapshot-Size");
  if (!id || id->empty() || id->size() > 64 || !offset || !size) {
    refused_.WithLabels({"bad_request"}).Inc();
    return http::Response::Error(request, 400, "bad_raft_request", "bad snapshot chunk headers",
                                 "need X-Raft-Snapshot-Id (1-64 chars), -Offset and -Size");
  }
  if (*size > options_.max_snapshot_bytes || *offset + request.body.size() > *size) {
    refused_.WithLabels({"too_large"}).Inc();
    return http::Response::Error(request, 413, "snapshot_too_large", "snapshot exceeds the limit",
                                 "declared " + std::to_string(*size) + " bytes; limit " +
                                     std::to_string(options_.max_snapshot_bytes));
  }
  std::string complete;
  {
    std::lock_guard lk(mu_);
    auto& slot = assemblies_[from];
    if (*offset == 0) {
      slot = std::make_unique<Assembly>(Assembly{std::string(*id), *size, {}});
      slot->bytes.reserve(*size);
    }
    if (!slot || slot->id != *id || slot->size != *size || slot->bytes.size() != *offset) {
      slot.reset();
      refused_.WithLabels({"out_of_order"}).Inc();
      return http::Response::Error(request, 409, "snapshot_chunk_out_of_order",
                                   "snapshot chunk out of order",
                                   "expected the next chunk of the current snapshot; start over");
    }
    slot->bytes += request.body;
    if (slot->bytes.size() < slot->size) return NoContent();
    complete = std::move(slot->bytes);
    assemblies_.erase(from);
  }
  if (auto refusal = Deliver(request, from, complete)) return std::move(*refusal);
  return NoContent();
}

}  // namespace raft::transport
