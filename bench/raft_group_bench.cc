// raft_group_bench: commit throughput and latency of a real 3-member Raft group on loopback.
//
// All production pieces — raft::Node, RocksStorage (fsync on or off), the HTTP peer transport on
// Beast servers, cpprestsdk clients — run in this one process with three data directories, so the
// figure is consensus alone: no client HTTP, and a state machine that only counts.
//
//   raft_group_bench [--seconds 5] [--clients 1,16,64] [--payload 128] [--sync 1|0|both]
//
// For each (sync, clients) it prints proposals committed per second and the commit latency
// (Propose to "applied on the leader") at p50/p90/p99, measured per proposal.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics.h"
#include "worker/http/server.h"
#include "worker/raft/node/node.h"
#include "worker/raft/transport/peer_routes.h"
#include "worker/raft/transport/peer_transport.h"

namespace {

using Clock = std::chrono::steady_clock;

class Counter final : public raft::StateMachine {
 public:
  raft::ApplyResponse Apply(raft::Index, std::string_view) override {
    ++applied_;
    return {};
  }
  void ApplyConf(raft::Index, const raft::ConfEntry&) override {}
  std::string Snapshot() override { return std::to_string(applied_); }
  raft::Result<void> Restore(raft::Index, std::string_view) override { return {}; }

 private:
  std::uint64_t applied_ = 0;
};

struct Member {
  common::Metrics metrics;
  Counter sm;
  std::unique_ptr<raft::transport::PeerTransport> transport;
  std::unique_ptr<raft::transport::PeerInbox> inbox;
  http::Router router;
  std::unique_ptr<http::Server> server;
  std::unique_ptr<raft::Node> node;
  std::atomic<raft::Node*> ready{nullptr};
};

const std::string kSecret = "bench-secret";

class Group {
 public:
  Group(const std::filesystem::path& root, bool sync) {
    for (raft::NodeId id = 1; id <= 3; ++id) {
      auto m = std::make_unique<Member>();
      Member* mp = m.get();
      m->inbox = std::make_unique<raft::transport::PeerInbox>(
          raft::transport::PeerInboxOptions{
              .self = id, .secret = kSecret,
              .deliver = [mp](std::vector<raft::Message> msgs) {
                if (auto* n = mp->ready.load()) n->Receive(std::move(msgs));
              }},
          m->metrics);
      m->inbox->AddRoutes(m->router);
      m->server = std::make_unique<http::Server>(
          http::ServerOptions{.host = "127.0.0.1", .port = 0, .compute_threads = 1}, m->router,
          m->metrics);
      ports_.push_back(*m->server->Start());
      members_.push_back(std::move(m));
    }
    for (raft::NodeId id = 1; id <= 3; ++id) {
      Member* m = members_[id - 1].get();
      m->transport = std::make_unique<raft::transport::PeerTransport>(
          raft::transport::PeerTransportOptions{
              .self = id, .auth = {.bearer = kSecret},
              .unreachable = [m](raft::NodeId p) { if (auto* n = m->ready.load()) n->ReportUnreachable(p); },
              .snapshot_done = [m](raft::NodeId p, bool ok) { if (auto* n = m->ready.load()) n->ReportSnapshot(p, ok); }},
          m->metrics);
      for (raft::NodeId peer = 1; peer <= 3; ++peer) {
        m->transport->SetPeer(peer, "127.0.0.1:" + std::to_string(ports_[peer - 1]));
      }
      auto storage = raft::RocksStorage::Open((root / std::to_string(id)).string(), {.sync = sync});
      if (!storage) throw std::runtime_error(storage.error().message);
      raft::NodeOptions o;
      o.raft.id = id;
      o.raft.random_seed = id;
      o.bootstrap = raft::ConfState{{1, 2, 3}, {}};
      auto node = raft::Node::Start(o, std::move(*storage), m->sm, *m->transport);
      if (!node) throw std::runtime_error(node.error().message);
      m->node = std::move(*node);
      m->ready = m->node.get();
    }
  }

  ~Group() {
    for (auto& m : members_) m->node->Stop();
    for (auto& m : members_) m->transport->Stop();
    for (auto& m : members_) m->server->Stop();
  }

  raft::Node* Leader() {
    for (int i = 0; i < 500; ++i) {
      for (auto& m : members_) {
        const auto s = m->node->Status();
        if (s.role == raft::Role::kLeader && s.commit >= s.last_index) return m->node.get();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    throw std::runtime_error("no leader");
  }

 private:
  std::vector<std::unique_ptr<Member>> members_;
  std::vector<std::uint16_t> ports_;
};

struct Result {
  double per_second = 0;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0;
  std::size_t failed = 0;
};

Result Run(raft::Node& leader, int clients, std::size_t payload, double seconds) {
  std::vector<std::vector<double>> latencies(static_cast<std::size_t>(clients));
  std::atomic<std::size_t> failed = 0;
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      const std::string data(payload, 'x');
      while (Clock::now() < end) {
        const auto t0 = Clock::now();
        if (auto r = leader.Propose(data).get(); !r) {
          ++failed;
          continue;
        }
        latencies[static_cast<std::size_t>(c)].push_back(
            std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      }
    });
  }
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) { return all.empty() ? 0.0 : all[static_cast<std::size_t>(p * (all.size() - 1))]; };
  return {static_cast<double>(all.size()) / elapsed, pct(0.50), pct(0.90), pct(0.99), failed};
}

std::vector<int> ParseList(const std::string& s) {
  std::vector<int> out;
  for (std::size_t pos = 0; pos < s.size();) {
    const auto comma = std::min(s.find(',', pos), s.size());
    out.push_back(std::stoi(s.substr(pos, comma - pos)));
    pos = comma + 1;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 5;
  std::vector<int> clients = {1, 16, 64};
  std::size_t payload = 128;
  std::string sync_modes = "both";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--seconds") seconds = std::stod(v);
    else if (k == "--clients") clients = ParseList(v);
    else if (k == "--payload") payload = std::stoul(v);
    else if (k == "--sync") sync_modes = v;
    else {
      std::cerr << "unknown flag " << k << "\n";
      return 2;
    }
  }
  std::vector<bool> syncs;
  if (sync_modes != "0") syncs.push_back(true);
  if (sync_modes != "1") syncs.push_back(false);

  const auto root = std::filesystem::temp_directory_path() / ("raft-group-bench-" + std::to_string(::getpid()));
  std::printf("%-5s %8s %12s %9s %9s %9s %7s\n", "sync", "clients", "commits/s", "p50 ms", "p90 ms", "p99 ms", "failed");
  for (bool sync : syncs) {
    for (int c : clients) {
      std::filesystem::remove_all(root);
      Result r;
      {
        Group group(root, sync);
        raft::Node* leader = group.Leader();
        Run(*leader, c, payload, std::min(1.0, seconds / 5));  // warm-up: connections, caches
        r = Run(*leader, c, payload, seconds);
      }
      std::printf("%-5s %8d %12.0f %9.2f %9.2f %9.2f %7zu\n", sync ? "on" : "off", c, r.per_second,
                  r.p50_ms, r.p90_ms, r.p99_ms, r.failed);
      std::fflush(stdout);
    }
  }
  std::filesystem::remove_all(root);
  return 0;
}
