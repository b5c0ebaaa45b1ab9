#include "worker/raft/transport/peer_transport.h"

#include <spdlog/spdlog.h>
// cpprestsdk's U() macro breaks fmt's templates; this is its documented switch to leave it out.
#define _TURN_OFF_PLATFORM_STRING
#include <cpprest/http_client.h>

#include <condition_variable>
#include <deque>
#include <random>
#include <thread>
#include <utility>

#include "worker/raft/transport/codec.h"

namespace raft::transport {
namespace {

namespace wh = web::http;

std::vector<unsigned char> Bytes(std::string_view s) { return {s.begin(), s.end()}; }

std::string RandomId() {
  std::random_device rd;
  return std::to_string((std::uint64_t{rd()} << 32) | rd());
}

}  // namespace

// One peer: its queue, its thread, its HTTP client.
class PeerTransport::Sender {
 public:
  Sender(NodeId peer, std::string address, const PeerTransportOptions& options,
         common::Metrics& metrics)
      : peer_(peer),
        address_(std::move(address)),
        options_(options),
        label_(std::to_string(peer)),
        sent_(metrics.CounterFamily("raft_transport_sent_messages_total",
                                    "Raft messages delivered to peers, by peer.", {"peer"})
                  .WithLabels({label_})),
        dropped_(metrics.CounterFamily("raft_transport_dropped_messages_total",
                                       "Raft messages dropped (queue full or failed request), "
                                       "by peer.",
                                       {"peer"})
                     .WithLabels({label_})),
        failures_(metrics.CounterFamily("raft_transport_request_failures_total",
                                        "Failed peer requests, by peer.", {"peer"})
                      .WithLabels({label_})) {
    thread_ = std::thread([this] { Run(); });
  }

  ~Sender() { Stop(); }

  bool Enqueue(Message m) {
    {
      std::lock_guard lk(mu_);
      if (stopped_ || queue_.size() >= options_.max_queue_messages) {
        dropped_.Inc();
        return false;
      }
      queue_.push_back(std::move(m));
    }
    cv_.notify_one();
    return true;
  }

  void Stop() {
    {
      std::lock_guard lk(mu_);
      stopped_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

  const std::string& address() const { return address_; }

 private:
  void Run() {
    wh::client::http_client_config config;
    config.set_timeout(options_.request_timeout);
    ConfigurePeerClient(config, options_.auth);
    wh::client::http_client client(web::uri(PeerBaseUri(address_, options_.auth)), config);
    auto backoff = options_.backoff_min;
    for (;;) {
      std::vector<Message> batch;
      {
        std::unique_lock lk(mu_);
        cv_.wait(lk, [&] { return stopped_ || !queue_.empty(); });
        if (stopped_) return;
        TakeBatch(batch);
      }
      const bool snapshot = batch.front().type == MessageType::kSnapshot;
      const bool ok = snapshot ? PostSnapshot(client, batch.front()) : PostBatch(client, batch);
      if (snapshot && options_.snapshot_done) options_.snapshot_done(peer_, ok);
      if (ok) {
        sent_.Inc(static_cast<double>(batch.size()));
        backoff = options_.backoff_min;
        continue;
      }
      failures_.Inc();
      dropped_.Inc(static_cast<double>(batch.size()));
      if (options_.unreachable) options_.unreachable(peer_);
      std::unique_lock lk(mu_);
      cv_.wait_for(lk, backoff, [&] { return stopped_; });
      backoff = std::min(backoff * 2, options_.backoff_max);
    }
  }

  // A snapshot alone; otherwise messages up to the byte budget (at least one), stopping before a
  // snapshot so that it goes out on its own path.
  void TakeBatch(std::vector<Message>& batch) {
    if (queue_.front().type == MessageType::kSnapshot) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
      return;
    }
    std::uint64_t bytes = 0;
    while (!queue_.empty() && queue_.front().type != MessageType::kSnapshot) {
      const std::uint64_t size = EncodedSize(queue_.front());
      if (!batch.empty() && bytes + size > options_.max_batch_bytes) break;
      bytes += size;
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
  }

  wh::http_request NewRequest(const char* path) const {
    wh::http_request req(wh::methods::POST);
    req.set_request_uri(path);
    AuthorizePeerRequest(req, options_.auth);
    req.headers().add("X-Raft-From", std::to_string(options_.self));
    return req;
  }

  // True when the peer answered 2xx; `answered` tells whether it answered at all. Never throws.
  bool Post(wh::client::http_client& client, wh::http_request req, bool* answered = nullptr) {
    try {
      wh::http_response resp = client.request(req).get();
      if (answered) *answered = true;
      const auto status = resp.status_code();
      if (status / 100 == 2) {
        resp.content_ready().wait();
        return true;
      }
      // A refusal means a misconfiguration (wrong secret, wrong id), not a network blip: say so.
      spdlog::warn("raft transport: peer {} at {} refused {}: {} {}", peer_, address_,
                   req.request_uri().path(), status, resp.extract_string().get());
    } catch (const std::exception& e) {
      spdlog::debug("raft transport: peer {} at {}: {}", peer_, address_, e.what());
    }
    return false;
  }

  // A batch that meets a dead pooled connection (the peer restarted since we last wrote to it: a
  // follower rarely writes to anyone but the leader) is tried once more at once, on a fresh one.
  // Raft survives lost messages, but a forwarded proposal is not resent by anyone: its client
  // would wait for a new term or the request timeout. A repeat is harmless: appends, votes and
  // their answers are idempotent, and the state machine's commands are written to be.
  bool PostBatch(wh::client::http_client& client, const std::vector<Message>& batch) {
    const std::string body = EncodeBatch(batch);
    for (int attempt = 0;; ++attempt) {
      wh::http_request req = NewRequest("/raft/v1/messages");
      req.set_body(Bytes(body));
      bool answered = false;
      if (Post(client, std::move(req), &answered)) return true;
      if (answered || attempt == 1 || Stopped()) return false;
    }
  }

  bool PostSnapshot(wh::client::http_client& client, const Message& m) {
    const std::string encoded = EncodeBatch({m});
    const std::string id = RandomId();
    const std::uint64_t chunk = std::max<std::uint64_t>(1, options_.snapshot_chunk_bytes);
    for (std::uint64_t offset = 0; offset < encoded.size(); offset += chunk) {
      wh::http_request req = NewRequest("/raft/v1/snapshot");
      req.headers().add("X-Raft-Snapshot-Id", id);
      req.headers().add("X-Raft-Snapshot-Offset", std::to_string(offset));
      req.headers().add("X-Raft-Snapshot-Size", std::to_string(encoded.size()));
      req.set_body(Bytes(std::string_view(encoded).substr(offset, chunk)));
      if (!Post(client, std::move(req))) return false;
      if (Stopped()) return false;
    }
    spdlog::info("raft transport: sent snapshot at index {} ({} bytes) to peer {}",
                 m.snapshot->meta.index, encoded.size(), peer_);
    return true;
  }

  bool Stopped() {
    std::lock_guard lk(mu_);
    return stopped_;
  }

  const NodeId peer_;
  const std::string address_;
  const PeerTransportOptions& options_;
  const std::string label_;
  common::Counter& sent_;
  common::Counter& dropped_;
  common::Counter& failures_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Message> queue_;
  bool stopped_ = false;
  std::thread thread_;
};

PeerTransport::PeerTransport(PeerTransportOptions options, common::Metrics& metrics)
    : options_(std::move(options)), metrics_(metrics) {}

PeerTransport::~PeerTransport() { Stop(); }

void PeerTransport::SetPeer(NodeId id, std::string address) {
  if (id == options_.self) return;
  std::unique_ptr<Sender> old;
  {
    std::lock_guard lk(mu_);
    if (stopped_) return;
    auto& slot = senders_[id];
    if (slot && slot->address() == address) return;
    old = std::move(slot);
    slot = std::make_unique<Sender>(id, std::move(address), options_, metrics_);
  }
  // `old` stops (joins its thread) here, outside the lock.
}

void PeerTransport::RemovePeer(NodeId id) {
  std::unique_ptr<Sender> old;
  {
    std::lock_guard lk(mu_);
    auto it = senders_.find(id);
    if (it == senders_.end()) return;
    old = std::move(it->second);
    senders_.erase(it);
  }
}

std::map<NodeId, std::string> PeerTransport::Peers() const {
  std::lock_guard lk(mu_);
  std::map<NodeId, std::string> out;
  for (const auto& [id, s] : senders_) out.emplace(id, s->address());
  return out;
}

void PeerTransport::Send(std::vector<Message> messages) {
  std::vector<NodeId> unknown, snapshots_dropped;
  {
    std::lock_guard lk(mu_);
    for (Message& m : messages) {
      auto it = senders_.find(m.to);
      if (it == senders_.end()) {
        unknown.push_back(m.to);
        continue;
      }
      const NodeId to = m.to;
      const bool snapshot = m.type == MessageType::kSnapshot;
      if (!it->second->Enqueue(std::move(m)) && snapshot) snapshots_dropped.push_back(to);
    }
  }
  // Outside the lock: the callbacks post to the node, which may be sending to us right now.
  for (NodeId id : unknown) {
    if (options_.unreachable) options_.unreachable(id);
  }
  // The leader waits for a snapshot's outcome before it replicates to that peer again.
  for (NodeId id : snapshots_dropped) {
    if (options_.snapshot_done) options_.snapshot_done(id, false);
  }
}

void PeerTransport::Stop() {
  std::map<NodeId, std::unique_ptr<Sender>> senders;
  {
    std::lock_guard lk(mu_);
    stopped_ = true;
    senders.swap(senders_);
  }
}

}  // namespace raft::transport
