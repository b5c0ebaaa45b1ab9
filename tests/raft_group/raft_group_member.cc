// raft_group_member: one member of a Raft group as a real process, for the group tests and the
// benchmark. It runs the production pieces — raft::Node, RocksStorage, the peer transport on its
// own Beast server — around the simplest state machine that shows what was committed: an
// append-only log of strings. (The worker's own state machine comes with the cluster issue; this
// binary isolates consensus from it, as etcd's raftexample does.)
//
//   raft_group_member --id 1 --peers 1=127.0.0.1:7001,2=...,3=... --data-dir D
//                     [--client 127.0.0.1:0] [--sync 1] [--snapshot-every N] [--compaction-margin N]
//                     [--snapshot-chunk-bytes N] [--join]
//   The cluster secret comes from RAFT_SECRET (never a flag: flags show in `ps`).
//
// Client API (on --client):
//   POST /append        body = value -> 200 {"index"} once applied here | 503/504 with the reason
//   GET  /log[?linearizable=1]       -> {"applied", "entries": [{"index","value"}]}
//   GET  /status                     -> this member's NodeStatus
//   POST /transfer?to=N              -> starts a leadership transfer
#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "worker/app/config.h"
#include "worker/http/server.h"
#include "worker/raft/node/node.h"
#include "worker/raft/rocksdb/rocks_storage.h"
#include "worker/raft/transport/peer_routes.h"
#include "worker/raft/transport/peer_transport.h"

namespace {

using json = nlohmann::json;

class AppendLog final : public raft::StateMachine {
 public:
  raft::ApplyResponse Apply(raft::Index index, std::string_view payload) override {
    std::lock_guard lk(mu_);
    entries_.emplace_back(index, std::string(payload));
    applied_ = index;
    return {};
  }
  void ApplyConf(raft::Index index, const raft::ConfEntry&) override {
    std::lock_guard lk(mu_);
    applied_ = index;
  }
  std::string Snapshot() override {
    std::lock_guard lk(mu_);
    return ToJson().dump();
  }
  raft::Result<void> Restore(raft::Index index, std::string_view data) override {
    const json j = json::parse(data, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || !j.contains("entries")) return raft::Fail(raft::ErrorCode::kCorruptState, "unreadable snapshot");
    std::lock_guard lk(mu_);
    entries_.clear();
    for (const auto& e : j["entries"]) entries_.emplace_back(e["index"], e["value"]);
    applied_ = index;
    return {};
  }
  json Dump() const {
    std::lock_guard lk(mu_);
    return ToJson();
  }

 private:
  json ToJson() const {
    json entries = json::array();
    for (const auto& [i, v] : entries_) entries.push_back({{"index", i}, {"value", v}});
    return {{"applied", applied_}, {"entries", std::move(entries)}};
  }

  mutable std::mutex mu_;
  std::vector<std::pair<raft::Index, std::string>> entries_;
  raft::Index applied_ = 0;
};

struct Flags {
  raft::NodeId id = 0;
  std::map<raft::NodeId, std::string> peers;
  std::string data_dir;
  std::string client = "127.0.0.1:0";
  bool sync = true;
  std::uint64_t snapshot_every = 10'000;
  std::uint64_t compaction_margin = 5'000;
  std::uint64_t snapshot_chunk_bytes = 1 << 20;
  bool join = false;
};

[[noreturn]] void Usage(const std::string& why) {
  std::cerr << "raft_group_member: " << why << "\n";
  std::exit(2);
}

worker::HostPort HostPort(const std::string& s) {
  auto hp = worker::ParseHostPort(s);
  if (!hp) Usage(hp.error());
  return *hp;
}

Flags Parse(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (k == "--join") {
      f.join = true;
      continue;
    }
    if (i + 1 >= argc) Usage("missing value for " + k);
    const std::string v = argv[++i];
    if (k == "--id") f.id = std::stoull(v);
    else if (k == "--data-dir") f.data_dir = v;
    else if (k == "--client") f.client = v;
    else if (k == "--sync") f.sync = v != "0";
    else if (k == "--snapshot-every") f.snapshot_every = std::stoull(v);
    else if (k == "--compaction-margin") f.compaction_margin = std::stoull(v);
    else if (k == "--snapshot-chunk-bytes") f.snapshot_chunk_bytes = std::stoull(v);
    else if (k == "--peers") {
      auto peers = worker::ParsePeerList(v);  // the worker's own format, with numeric names
      if (!peers) Usage("--peers: " + peers.error());
      for (const auto& [id, address] : *peers) f.peers[std::stoull(id)] = address;
    } else {
      Usage("unknown flag " + k);
    }
  }
  if (f.id == 0 || !f.peers.count(f.id) || f.data_dir.empty()) {
    Usage("need --id, --peers including this id, and --data-dir");
  }
  return f;
}

http::Response NodeError(const http::Request& req, const raft::Error& e, raft::NodeId leader) {
  const int status = e.code == raft::ErrorCode::kTimeout ? 504 : 503;
  return http::Response::Error(req, status, raft::ErrorCodeName(e.code), "not committed", e.message,
                               json{{"leader", leader}});
}

json StatusJson(const raft::NodeStatus& s) {
  json peers = json::array();
  for (const auto& p : s.peers) {
    peers.push_back({{"id", p.id}, {"match", p.match}, {"next", p.next}, {"active", p.active}});
  }
  return {{"id", s.id},          {"role", raft::RoleName(s.role)},
          {"term", s.term},      {"leader", s.leader},
          {"commit", s.commit},  {"applied", s.applied},
          {"last_index", s.last_index}, {"snapshot_index", s.snapshot_index},
          {"voters", s.conf.voters},    {"learners", s.conf.learners},
          {"peers", std::move(peers)}};
}

void AddClientRoutes(http::Router& router, raft::Node& node, AppendLog& log) {
  router.Add("POST", "/append", [&](http::Request& req) {
    auto r = node.Propose(std::move(req.body)).get();
    if (!r) return NodeError(req, r.error(), node.Status().leader);
    return http::Response::Json(200, json{{"index", r->index}});
  }, {.name = "append", .compute = true, .quiet = true, .max_body_bytes = 1 << 20});
  router.Add("GET", "/log", [&](http::Request& req) {
    if (req.Query("linearizable")) {
      if (auto r = node.ReadIndex().get(); !r) return NodeError(req, r.error(), node.Status().leader);
    }
    return http::Response::Json(200, log.Dump());
  }, {.name = "log", .compute = true, .quiet = true});
  router.Add("GET", "/status", [&](http::Request&) {
    return http::Response::Json(200, StatusJson(node.Status()));
  }, {.name = "status", .quiet = true});
  router.Add("POST", "/transfer", [&](http::Request& req) {
    const auto to = req.Query("to");
    if (!to) return http::Response::Error(req, 400, "bad_request", "missing to", "POST /transfer?to=N");
    auto r = node.TransferLeadership(std::stoull(std::string(*to))).get();
    if (!r) return NodeError(req, r.error(), node.Status().leader);
    return http::Response::Json(202, json{{"transferring_to", std::string(*to)}});
  }, {.name = "transfer"});
}

}  // namespace

int main(int argc, char** argv) {
  const Flags flags = Parse(argc, argv);
  const char* secret = std::getenv("RAFT_SECRET");
  if (!secret || !*secret) Usage("RAFT_SECRET must hold the cluster secret");
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %L member " + std::to_string(flags.id) + ": %v");

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before any thread starts

  auto storage = raft::RocksStorage::Open(flags.data_dir, {.sync = flags.sync});
  if (!storage) {
    spdlog::critical("{}", storage.error().message);
    return 1;
  }

  common::Metrics metrics;
  std::atomic<raft::Node*> node_ptr = nullptr;  // set once the node exists; the transport reports to it
  raft::transport::PeerTransport transport(
      {.self = flags.id,
       .auth = {.bearer = secret},
       .snapshot_chunk_bytes = flags.snapshot_chunk_bytes,
       .unreachable = [&](raft::NodeId id) { if (auto* n = node_ptr.load()) n->ReportUnreachable(id); },
       .snapshot_done = [&](raft::NodeId id, bool ok) { if (auto* n = node_ptr.load()) n->ReportSnapshot(id, ok); }},
      metrics);
  for (const auto& [id, address] : flags.peers) transport.SetPeer(id, address);

  raft::ConfState initial;
  for (const auto& [id, address] : flags.peers) initial.voters.push_back(id);
  AppendLog log;
  raft::NodeOptions options;
  options.raft.id = flags.id;
  options.raft.max_uncommitted_entries_size = 64 << 20;
  options.snapshot_every = flags.snapshot_every;
  options.compaction_margin = flags.compaction_margin;
  if (!flags.join) options.bootstrap = initial;
  auto node = raft::Node::Start(options, std::move(*storage), log, transport);
  if (!node) {
    spdlog::critical("cannot start: {}", node.error().message);
    return 1;
  }
  node_ptr = node->get();

  raft::transport::PeerInbox inbox(
      {.self = flags.id, .secret = secret,
       .deliver = [&](std::vector<raft::Message> m) { node_ptr.load()->Receive(std::move(m)); }},
      metrics);
  http::Router peer_router;
  inbox.AddRoutes(peer_router);
  const auto [peer_host, peer_port] = HostPort(flags.peers.at(flags.id));
  http::Server peer_server({.host = peer_host, .port = peer_port, .compute_threads = 1}, peer_router, metrics);
  if (auto p = peer_server.Start(); !p) {
    spdlog::critical("peer port {}: {}", flags.peers.at(flags.id), p.error());
    return 1;
  }

  http::Router client_router;
  AddClientRoutes(client_router, **node, log);
  const auto [client_host, client_port] = HostPort(flags.client);
  http::Server client_server({.host = client_host, .port = client_port, .compute_threads = 16},
                             client_router, metrics);
  auto bound = client_server.Start();
  if (!bound) {
    spdlog::critical("client port {}: {}", flags.client, bound.error());
    return 1;
  }
  spdlog::info("member {} peer port {} listening on {}:{}", flags.id, flags.peers.at(flags.id),
               client_host, *bound);

  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("signal {}: stopping", sig);
  client_server.Stop();
  client_server.Join();
  (*node)->Stop();
  transport.Stop();
  peer_server.Stop();
  peer_server.Join();
  return 0;
}
