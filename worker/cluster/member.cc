#include "worker/cluster/member.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <random>

#include "worker/cluster/peer_call.h"

namespace cluster {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

// Writes `text` to `path` so that a crash leaves either the old file or the new one, whole.
common::Expected<void, std::string> WriteDurably(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return common::Unexpected<std::string>{"cannot write " + tmp.string()};
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  std::error_code ec;
  if (ok) fs::rename(tmp, path, ec);
  if (!ok || ec) return common::Unexpected<std::string>{"cannot write " + path.string()};
  const int dir = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return {};
}

// The Raft id kept in the data directory, drawn at random on first use (see member.h).
common::Expected<raft::NodeId, std::string> LoadOrCreateIdentity(const fs::path& dir, const std::string& name) {
  const fs::path path = dir / "identity";
  if (std::ifstream in{path}) {
    const json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || !j.contains("raft_id") || !j["raft_id"].is_number_unsigned() || !j.contains("name")) {
      return common::Unexpected<std::string>{path.string() + " is damaged; refusing to guess this member's identity"};
    }
    if (j["name"] != name) {
      return common::Unexpected<std::string>{path.string() + " belongs to member \"" + j["name"].get<std::string>() +
                                             "\", not \"" + name + "\""};
    }
    return j["raft_id"].get<raft::NodeId>();
  }
  if (fs::exists(dir / "raft")) {
    return common::Unexpected<std::string>{dir.string() + " holds Raft state but no identity file; refusing to start"};
  }
  std::random_device rd;
  raft::NodeId id = 0;
  while (id == 0) id = ((std::uint64_t{rd()} << 32) | rd()) >> 1;  // < 2^63: exact in JSON
  if (auto w = WriteDurably(path, json{{"raft_id", id}, {"name", name}}.dump()); !w) {
    return common::Unexpected<std::string>{w.error()};
  }
  return id;
}

http::Response Unavailable(const http::Request& request, std::string_view code, const std::string& detail) {
  return http::Response::Error(request, 503, code, "membership change not possible now", detail);
}

PeerDiscovery DiscoveryOf(const MemberOptions& o) {
  if (o.peers_dns) return PeerDiscovery(*o.peers_dns, o.advertise_peer.substr(0, o.advertise_peer.rfind(':')), o.name);
  return PeerDiscovery(o.peers, o.name);
}

// How long an ordinal 0 waits for --peers-dns to resolve before giving up (and exiting, so that
// the failure shows as a restarting pod rather than as a member stuck in silence).
constexpr auto kResolveWait = std::chrono::seconds(30);

}  // namespace

ClusterMember::ClusterMember(MemberOptions options, common::Metrics& metrics, raft::NodeId id)
    : options_(std::move(options)),
      metrics_(metrics),
      id_(id),
      discovery_(DiscoveryOf(options_)),
      transport_({.self = id,
                  .secret = options_.secret,
                  .unreachable = [this](raft::NodeId p) { if (auto* n = live_node_.load()) n->ReportUnreachable(p); },
                  .snapshot_done = [this](raft::NodeId p, bool ok) { if (auto* n = live_node_.load()) n->ReportSnapshot(p, ok); }},
                 metrics),
      state_([this](const std::map<raft::NodeId, MemberInfo>& m) { OnMembers(m); }) {}

common::Expected<std::unique_ptr<ClusterMember>, std::string> ClusterMember::Start(MemberOptions options,
                                                                                  common::Metrics& metrics) {
  if (options.peers_dns && !StatefulSetOrdinal(options.name)) {
    return common::Unexpected<std::string>{"with --peers-dns the member name must be a StatefulSet pod's, <set>-<ordinal> "
                                           "(ordinal 0 bootstraps), not \"" + options.name + "\""};
  }
  std::error_code ec;
  fs::create_directories(options.data_dir, ec);
  if (ec) return common::Unexpected<std::string>{"cannot create " + options.data_dir + ": " + ec.message()};
  auto id = LoadOrCreateIdentity(options.data_dir, options.name);
  if (!id) return common::Unexpected<std::string>{id.error()};
  auto storage = raft::RocksStorage::Open((fs::path(options.data_dir) / "raft").string());
  if (!storage) return common::Unexpected<std::string>{storage.error().message};
  std::unique_ptr<ClusterMember> member(new ClusterMember(std::move(options), metrics, *id));
  if (auto r = member->Run(std::move(*storage)); !r) return common::Unexpected<std::string>{r.error()};
  return member;
}

common::Expected<void, std::string> ClusterMember::Run(std::unique_ptr<raft::RocksStorage> storage) {
  inbox_ = std::make_unique<raft::transport::PeerInbox>(
      raft::transport::PeerInboxOptions{.self = id_, .secret = options_.secret,
                                        .deliver = [this](std::vector<raft::Message> m) {
                                          auto* n = live_node_.load();
                                          if (n && !outbound_.paused.load()) n->Receive(std::move(m));
                                        }},
      metrics_);
  inbox_->AddRoutes(peer_router_);
  peer_router_.Add("POST", "/raft/v1/join", [this](http::Request& r) { return Join(r); },
                   {.name = "raft_join", .compute = true, .max_body_bytes = 64 << 10});
  peer_router_.Add("GET", "/raft/v1/cluster", [this](http::Request& r) { return Describe(r); },
                   {.name = "raft_cluster", .quiet = true});
  peer_router_.Add("GET", "/raft/v1/load", [this](http::Request& r) {
    if (auto refusal = raft::transport::RequireClusterSecret(r, options_.secret)) return std::move(*refusal);
    return http::Response::Json(200, options_.load_report ? options_.load_report() : json{{"healthy", true}});
  }, {.name = "raft_load", .quiet = true});
  if (options_.add_peer_routes) options_.add_peer_routes(peer_router_);
  peer_server_ = std::make_unique<http::Server>(
      http::ServerOptions{.host = options_.peer_host,
                          .port = options_.peer_port,
                          .compute_threads = 2,
                          .memory_budget = options_.job_memory,
                          .default_working_set_bytes = options_.job_working_set_bytes,
                          .compute_nice = options_.compute_nice},
      peer_router_, metrics_);
  if (auto p = peer_server_->Start(); !p) {
    return common::Unexpected<std::string>{"peer port " + options_.peer_host + ":" +
                                           std::to_string(options_.peer_port) + ": " + p.error()};
  }

  const bool fresh = storage->last_index() == 0 && storage->hard_state().empty();
  const raft::Index known_committed = storage->hard_state().commit;
  raft::NodeOptions node_options = options_.raft;
  node_options.raft.id = id_;
  bool bootstrap = false;
  if (fresh && discovery_.MayBootstrap()) {
    auto exists = ClusterExistsElsewhere();
    if (!exists) return common::Unexpected<std::string>{exists.error()};
    bootstrap = !*exists;
  }
  if (bootstrap) {
    node_options.bootstrap = raft::ConfState{{id_}, {}};
    node_options.bootstrap_context =
        EncodeMemberInfo({options_.name, options_.advertise_peer, options_.advertise_http});
  }
  auto node = raft::Node::Start(node_options, std::move(storage), state_, outbound_);
  if (!node) return common::Unexpected<std::string>{node.error().message};
  node_ = std::move(*node);
  live_node_ = node_.get();
  // Replay what this member knew to be committed before it serves: until then its API keys, covers
  // and configuration would be older than what it may already have acknowledged.
  for (const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
       node_->Status().applied < known_committed;) {
    if (std::chrono::steady_clock::now() > deadline) {
      return common::Unexpected<std::string>{"could not replay the log to its commit index " +
                                             std::to_string(known_committed) + " within 30 s"};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  spdlog::info("cluster: member {} (raft id {}) {}", options_.name, id_,
               bootstrap ? "bootstrapped a new cluster" : fresh ? "is joining" : "resumed from its data directory");
  if (fresh && !bootstrap) join_thread_ = std::thread([this] { JoinLoop(); });
  duties_thread_ = std::thread([this] { LeaderDuties(); });
  return {};
}

ClusterMember::~ClusterMember() { Stop(std::chrono::milliseconds(0)); }

common::Expected<bool, std::string> ClusterMember::ClusterExistsElsewhere() {
  auto peers = discovery_.Peers();
  for (const auto deadline = std::chrono::steady_clock::now() + kResolveWait;
       !peers && std::chrono::steady_clock::now() < deadline;) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    peers = discovery_.Peers();
  }
  if (!peers) {
    return common::Unexpected<std::string>{discovery_.Describe() + " does not resolve: cannot tell whether a cluster "
                                           "exists, so this member does not bootstrap one"};
  }
  for (const std::string& address : *peers) {
    // A member that is itself starting (503) may hold the cluster on disk: ask again, briefly.
    PeerReply r;
    for (int attempt = 0; attempt <= 20 && (attempt == 0 || r.status == 503); ++attempt) {
      if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      r = CallPeer(address, "GET", "/raft/v1/cluster", options_.secret, nullptr, std::chrono::milliseconds(1000));
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
        const PeerReply r = CallPeer(target, "POST", "/raft/v1/join", options_.secret, body,
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
    const raft::NodeStatus st = node_->Status();
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

json ClusterMember::MembersJson() const {
  const raft::NodeStatus st = node_->Status();
  json out = json::array();
  for (const auto& [id, info] : state_.members()) {
    out.push_back({{"raft_id", id}, {"name", info.name}, {"peer", info.peer}, {"http", info.http},
                   {"role", st.conf.is_voter(id) ? "voter" : "learner"}});
  }
  return out;
}

http::Response ClusterMember::Join(http::Request& request) {
  if (auto refusal = raft::transport::RequireClusterSecret(request, options_.secret)) return std::move(*refusal);
  const auto newcomer = NewcomerFromJson(json::parse(request.body, nullptr, /*allow_exceptions=*/false));
  if (!newcomer) {
    return http::Response::Error(request, 400, "bad_join", "malformed join request",
                                 "want {\"id\": >0, \"name\", \"peer\", \"http\"}");
  }
  // The peer port opens before the node starts (a bootstrapping member first asks the others).
  if (!live_node_.load()) return Unavailable(request, "starting", "this member is still starting; retry");
  const auto& [joiner, info] = *newcomer;
  const raft::NodeStatus st = node_->Status();
  if (st.role != raft::Role::kLeader) {
    const auto members = state_.members();
    const auto leader = members.find(st.leader);
    if (leader == members.end()) return Unavailable(request, "no_leader", "no leader known; retry");
    return http::Response::Error(request, 421, "not_leader", "not the leader", "join through the leader",
                                 json{{"leader_peer", leader->second.peer}});
  }
  // A member that comes back with a wiped directory has a new id: retire the old one first.
  for (const auto& [id, m] : state_.members()) {
    if (m.name != info.name || id == joiner) continue;
    auto removed = ChangeMember(MemberAction::kRemove, id, {});
    if (!removed) return Unavailable(request, raft::ErrorCodeName(removed.error().code), removed.error().message);
    spdlog::info("cluster: removed stale member {} (raft id {}) before it rejoins", m.name, id);
  }
  if (!st.conf.contains(joiner)) {
    auto added = ChangeMember(MemberAction::kAdd, joiner, info);
    if (!added) return Unavailable(request, raft::ErrorCodeName(added.error().code), added.error().message);
    spdlog::info("cluster: added {} (raft id {}) as a learner", info.name, joiner);
  }
  return http::Response::Json(200, json{{"members", MembersJson()}});
}

http::Response ClusterMember::Describe(http::Request& request) {
  if (auto refusal = raft::transport::RequireClusterSecret(request, options_.secret)) return std::move(*refusal);
  if (!live_node_.load()) return Unavailable(request, "starting", "this member is still starting; retry");
  const raft::NodeStatus st = node_->Status();
  return http::Response::Json(200, json{{"leader", st.leader}, {"members", MembersJson()}, {"raft_id", id_},
                                        {"role", raft::RoleName(st.role)}, {"term", st.term},
                                        {"commit", st.commit}, {"applied", st.applied}});
}

json ClusterMember::RaftStatus() const { return StatusJson(node_->Status()); }

json ClusterMember::StatusJson(const raft::NodeStatus& st) const {
  const auto members = state_.members();
  auto name_of = [&](raft::NodeId id) -> json {
    auto it = members.find(id);
    return it == members.end() ? json(nullptr) : json(it->second.name);
  };
  auto names = [&](const std::vector<raft::NodeId>& ids) {
    json out = json::array();
    for (raft::NodeId id : ids) out.push_back(name_of(id));
    return out;
  };
  const auto leader = members.find(st.leader);
  return {{"id", options_.name},
          {"raft_id", id_},
          {"role", raft::RoleName(st.role)},
          {"term", st.term},
          {"leader_id", name_of(st.leader)},
          {"leader_raft_id", st.leader},
          {"leader_address", leader == members.end() ? json(nullptr) : json(leader->second.http)},
          {"commit", st.commit},
          {"applied", st.applied},
          {"voters", names(st.conf.voters)},
          {"learners", names(st.conf.learners)}};
}

std::map<raft::NodeId, PeerReply> ClusterMember::AskEveryone(const std::map<raft::NodeId, MemberInfo>& members,
                                                             const std::string& path) const {
  std::map<raft::NodeId, std::future<PeerReply>> pending;
  for (const auto& [id, info] : members) {
    if (id == id_) continue;
    pending.emplace(id, std::async(std::launch::async, [this, peer = info.peer, &path] {
      return CallPeer(peer, "GET", path, options_.secret, nullptr, std::chrono::milliseconds(300));
    }));
  }
  std::map<raft::NodeId, PeerReply> replies;
  for (auto& [id, reply] : pending) replies.emplace(id, reply.get());
  return replies;
}

json ClusterMember::ClusterStatus() const {
  const raft::NodeStatus st = node_->Status();
  const auto members = state_.members();
  auto replies = AskEveryone(members, "/raft/v1/load");
  auto split = [](const std::string& address) {
    const auto colon = address.rfind(':');
    return std::make_pair(address.substr(0, colon), std::stoi(address.substr(colon + 1)));
  };
  json nodes = json::array();
  for (const auto& [id, info] : members) {
    json load = nullptr;
    if (id == id_) {
      load = options_.load_report ? options_.load_report() : json{{"healthy", true}};
    } else if (const PeerReply& r = replies.at(id); r.status == 200 && r.body.is_object()) {
      load = r.body;
    }
    const bool healthy = load.is_object() && load.value("healthy", false);
    const auto [ip, http_port] = split(info.http);
    // The prototype's serde enum names; its GUI compares role === 'Leader'.
    json node = {{"id", info.name},
                 {"ip", ip},
                 {"http_port", http_port},
                 {"raft_port", split(info.peer).second},
                 {"role", id == st.leader ? "Leader" : st.conf.is_learner(id) ? "Learner" : "Follower"},
                 {"healthy", healthy}};
    // Always numbers, as the prototype sent them (its GUI calls toFixed on each): 0 for a member
    // that did not answer, which `healthy` false tells apart.
    for (const char* k : {"cpu_pct", "mem_pct", "qps_1m", "p95_ms"}) {
      node[k] = load.is_object() && load.contains(k) && load[k].is_number() ? load[k] : json(0.0);
    }
    nodes.push_back(std::move(node));
  }
  const auto leader = members.find(st.leader);
  return {{"term", st.term},
          {"leader_id", leader == members.end() ? json(nullptr) : json(leader->second.name)},
          {"nodes", std::move(nodes)}};
}

json ClusterMember::ClusterView() const {
  const raft::NodeStatus st = node_->Status();
  const auto members = state_.members();
  const auto replies = AskEveryone(members, "/raft/v1/cluster");
  std::map<raft::NodeId, const raft::NodeStatus::Peer*> progress;
  for (const auto& p : st.peers) progress.emplace(p.id, &p);
  const bool leading = st.role == raft::Role::kLeader;
  json list = json::array();
  for (const auto& [id, info] : members) {
    json own = nullptr;  // what the member reports of itself
    if (id == id_) {
      own = {{"role", raft::RoleName(st.role)}, {"term", st.term}, {"commit", st.commit}, {"applied", st.applied}};
    } else if (const PeerReply& r = replies.at(id); r.status == 200 && r.body.is_object()) {
      own = r.body;
    }
    json m = {{"id", info.name}, {"raft_id", id}, {"peer", info.peer}, {"http", info.http},
              {"suffrage", st.conf.is_learner(id) ? "learner" : "voter"}, {"leader", id == st.leader},
              {"reachable", own.is_object()}, {"match", nullptr}, {"lag", nullptr}, {"last_contact_ms", nullptr}};
    for (const char* k : {"role", "term", "commit", "applied"}) m[k] = own.is_object() ? own.value(k, json()) : json();
    if (leading && id == id_) {
      m.update({{"match", st.last_index}, {"lag", 0}, {"last_contact_ms", 0}});
    } else if (const auto p = progress.find(id); leading && p != progress.end()) {
      const raft::Index match = p->second->match;
      m.update({{"match", match}, {"lag", st.last_index > match ? st.last_index - match : 0},
                {"last_contact_ms", p->second->last_contact.count()}});
    }
    list.push_back(std::move(m));
  }
  json view = StatusJson(st);
  view["last_index"] = st.last_index;
  view["members"] = std::move(list);
  return view;
}

std::optional<std::string> ClusterMember::NotReady() const {
  const raft::NodeStatus st = node_->Status();
  if (!st.conf.contains(id_)) return "not yet a member of the cluster";
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

common::Expected<std::string, raft::Error> ClusterMember::HandOver(const std::string& target,
                                                                  std::chrono::milliseconds wait) {
  const raft::NodeStatus st = node_->Status();
  if (st.role != raft::Role::kLeader) return raft::Fail(raft::ErrorCode::kNotLeader, "this member is not the leader");
  raft::NodeId to = raft::kNone;
  if (!target.empty()) {
    to = IdOf(target);
    if (to == raft::kNone) return raft::Fail(raft::ErrorCode::kTransferInvalid, "no member is called " + target);
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
    if (to == raft::kNone) return raft::Fail(raft::ErrorCode::kTransferInvalid, "no other voter to hand over to");
  }
  const auto members = state_.members();
  const std::string name = members.count(to) ? members.at(to).name : std::to_string(to);
  spdlog::info("cluster: handing leadership to {}", name);
  if (auto r = node_->TransferLeadership(to).get(); !r) return common::Unexpected<raft::Error>{r.error()};
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < deadline) {
    if (node_->Status().leader == to) return name;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return raft::Fail(raft::ErrorCode::kTimeout, name + " did not take over within the wait");
}

common::Expected<raft::Index, raft::Error> ClusterMember::ChangeMember(MemberAction action, raft::NodeId id,
                                                                      const MemberInfo& info) {
  using Type = raft::ConfChange::Type;
  const Type type = action == MemberAction::kAdd ? Type::kAddLearner
                    : action == MemberAction::kPromote ? Type::kPromote
                                                       : Type::kRemove;
  // The leader replicates to a learner as soon as its entry is appended: it needs the address now.
  if (type == Type::kAddLearner) transport_.SetPeer(id, info.peer);
  const std::string context = type == Type::kAddLearner ? EncodeMemberInfo(info) : "";
  auto r = node_->ChangeMembership({type, id, context}).get();
  if (!r) return common::Unexpected<raft::Error>{r.error()};
  return *r;
}

void ClusterMember::Stop(std::chrono::milliseconds grace) {
  if (stopping_.exchange(true)) return;
  if (join_thread_.joinable()) join_thread_.join();
  if (duties_thread_.joinable()) duties_thread_.join();
  if (node_) {
    if (grace.count() > 0 && node_->Status().role == raft::Role::kLeader) {
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
