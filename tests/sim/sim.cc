#include "tests/sim/sim.h"

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "tests/sim/sim_storage.h"
#include "worker/raft/confchange.h"
#include "worker/raft/logger.h"
#include "worker/raft/rand.h"
#include "worker/raft/rawnode.h"

namespace raft::sim {

void Stats::add(const Stats& o) {
  events += o.events;
  sim_time_us += o.sim_time_us;
  messages += o.messages;
  dropped += o.dropped;
  duplicated += o.duplicated;
  max_term = std::max(max_term, o.max_term);
  leaders_elected += o.leaders_elected;
  proposals += o.proposals;
  acked += o.acked;
  committed += o.committed;
  reads += o.reads;
  reads_checked += o.reads_checked;
  crashes += o.crashes;
  unsynced_lost += o.unsynced_lost;
  partitions += o.partitions;
  pauses += o.pauses;
  churn_crashes += o.churn_crashes;
  old_term_commits += o.old_term_commits;
  conf_changes += o.conf_changes;
  transfers += o.transfers;
  snapshots_installed += o.snapshots_installed;
  heal_to_leader_us = std::max(heal_to_leader_us, o.heal_to_leader_us);
  heal_to_converged_us = std::max(heal_to_converged_us, o.heal_to_converged_us);
}

namespace {

using Time = std::int64_t;  // simulated microseconds
constexpr Time kMs = 1000;
constexpr Time kTick = 10 * kMs;  // one Raft tick: heartbeat 5 ticks (50 ms), election 15-30

// A violated property; carries the name the report uses.
struct Violation {
  std::string invariant;
  std::string detail;
};

// The core's Fatal (its own invariant checks) surfaces as a violation too.
struct CoreFatal {
  std::string what;
};
void ThrowCoreFatal(const std::string& what) { throw CoreFatal{what}; }

std::uint64_t Mix(std::uint64_t h, std::uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  h *= 0xff51afd7ed558ccdULL;
  return h ^ (h >> 33);
}

std::uint64_t HashBytes(const std::string& s) {
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

std::uint64_t EntryHash(std::uint64_t prev, const Entry& e) {
  std::uint64_t h = Mix(prev, e.index);
  h = Mix(h, e.term);
  h = Mix(h, static_cast<std::uint64_t>(e.type));
  return Mix(h, HashBytes(e.data));
}

std::string F(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string F(const char* fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return buf;
}

class PrintLogger final : public Logger {
 public:
  explicit PrintLogger(const Time* now) : now_(now) {}
  void Log(LogLevel, std::string_view line) override {
    std::printf("%10.3f ms   raft %.*s\n", static_cast<double>(*now_) / kMs,
                static_cast<int>(line.size()), line.data());
  }

 private:
  const Time* now_;
};

// The knobs of one run, all drawn from the seed: different seeds stress different mixes.
struct Profile {
  Time chaos = 3000 * kMs;
  double loss = 0, dup = 0, reorder = 0;
  Time delay_lo = 100, delay_hi = 2 * kMs;
  Time disk_lo = 50, disk_hi = 3 * kMs;
  double crash = 0, partition = 0, pause = 0, skew = 0, conf = 0, transfer = 0, read = 0;
  double churn = 0;  // chance that a new leader crashes within a few ms of winning
  Time client_gap_hi = 20 * kMs;
  Index snapshot_every = 20;
  Index compact_margin = 3;
  bool pre_vote = true, check_quorum = true;
  std::size_t max_inflight = 256;
  std::uint64_t max_msg = 1 << 20;
};

class Simulation {
 public:
  explicit Simulation(const Options& o) : opts_(o), rng_(o.seed * 0x2545F4914F6CDD1DULL + 7) {
    logger_ = std::make_unique<PrintLogger>(&now_);
  }

  RunResult Run();
  BenchResult Bench(std::uint64_t proposals, int payload, int inflight);

 private:
  enum class Kind { kTick, kDeliver, kSyncDone, kChaos, kClient, kRetire, kHeal, kLiveness, kCrash };
  struct Event {
    Time at;
    std::uint64_t seq;
    Kind kind;
    NodeId node = kNone;
    int epoch = 0;
    std::shared_ptr<const Message> msg;
  };
  struct Later {
    bool operator()(const Event& a, const Event& b) const {
      return a.at != b.at ? a.at > b.at : a.seq > b.seq;
    }
  };

  struct Node {
    NodeId id = kNone;
    bool up = false;
    bool retired = false;  // removed from the cluster and shut down for good
    int epoch = 0;         // bumps on crash/restart; stale events are ignored
    SimStorage disk;
    std::unique_ptr<RawNode> raw;
    bool syncing = false;
    Ready pending;  // the Ready whose writes are being synced
    Time tick_us = kTick;
    Time paused_until = 0;
    int restarts = 0;
    // The application: a hash chain over applied entries, and the configuration applied last.
    Index applied = 0;
    std::uint64_t chain = 0;
    ConfState app_conf;
    Index last_snap = 0;
    // Checker's view of this node.
    Index seen_commit = 0;
    HardState durable_hs;
    Role seen_role = Role::kFollower;
    Term seen_term = 0;
    Term leader_term = 0;  // term in which this node was last registered as leader
    // Prefix hashes of the node's (live) log: prefix[k] covers entries 1..prefix_base+k.
    std::vector<std::uint64_t> prefix;
    Index prefix_base = 0;
    // (index, term, prefix hash) of entries written but not yet synced: they join the global
    // record only once durable (a crash may legitimately take them back).
    std::vector<std::tuple<Index, Term, std::uint64_t>> unsynced_prefix;
  };

  // --- randomness ---
  std::uint64_t U(std::uint64_t n) { return n ? rng_.uniform(n) : 0; }
  Time Between(Time lo, Time hi) { return hi <= lo ? lo : lo + static_cast<Time>(U(hi - lo + 1)); }
  bool Chance(double p) { return p > 0 && static_cast<double>(U(1000000)) < p * 1e6; }
  template <class T>
  const T& Pick(const std::vector<T>& v) { return v[U(v.size())]; }

  // --- plumbing ---
  void Schedule(Time at, Kind k, NodeId node = kNone, int epoch = 0,
                std::shared_ptr<const Message> msg = nullptr) {
    events_.push(Event{at, seq_++, k, node, epoch, std::move(msg)});
  }
  void Trace(const char* fmt, ...) __attribute__((format(printf, 2, 3)));
  [[noreturn]] void Fail(const std::string& invariant, const std::string& detail) {
    throw Violation{invariant, detail};
  }

  void MakeProfile();
  void Bootstrap();
  Config NodeConfig(const Node& n);
  void StartNode(Node& n);
  void Crash(Node& n);
  void Restart(Node& n);
  NodeId AddNode();

  void Dispatch(const Event& e);
  void OnTick(Node& n);
  void OnDeliver(const Message& m);
  void Pump(Node& n);
  void OnSyncDone(Node& n);
  void Send(const Message& m);
  bool Blocked(NodeId from, NodeId to) const { return blocked_.count({from, to}) > 0; }

  void Apply(Node& n, const Entry& e);
  void InstallSnapshot(Node& n, const Snapshot& s);
  void MaybeSnapshot(Node& n);

  void Chaos();
  void ChaosPartition();
  void ChaosMembership();
  void Client();
  void Heal();
  bool Liveness();

  Node* LeaderNode(bool highest_term_only = true);
  std::vector<Node*> UpNodes();

  // --- checks ---
  void CheckAll();
  void CheckNode(Node& n);
  void CheckLeaderHasCommitted(Node& n, Index from, Index to);
  void MirrorSnapshot(Node& n, Index index, Term term);
  void MirrorAppend(Node& n, const std::vector<Entry>& ents, bool durable = true);
  void RegisterPrefix(Node& n, Index index, Term term, std::uint64_t hash);
  void MirrorCompact(Node& n, Index to);
  void MirrorRebuild(Node& n);
  void CheckDurable(Node& n);
  void CheckAckDurable(Node& n, const Message& m);

  Options opts_;
  Rng rng_;
  Profile p_;
  Time now_ = 0;
  std::uint64_t seq_ = 0;
  std::priority_queue<Event, std::vector<Event>, Later> events_;
  std::map<NodeId, std::unique_ptr<Node>> nodes_;
  NodeId next_id_ = 1;
  int initial_ = 3;
  std::unique_ptr<PrintLogger> logger_;
  Stats st_;

  // Network state.
  std::set<std::pair<NodeId, NodeId>> blocked_;  // directed links that drop everything
  double loss_ = 0;

  // Run phases.
  bool healed_ = false;
  Time heal_at_ = 0;
  bool done_ = false;
  Time leader_seen_at_ = -1;
  std::uint64_t marker_id_ = 0;
  Index marker_index_ = 0;
  NodeId marker_leader_ = kNone;
  Term marker_term_ = 0;
  bool bench_ = false;

  // Global knowledge the checker accumulates.
  std::map<Term, NodeId> leader_of_term_;
  std::map<std::pair<Index, Term>, std::uint64_t> prefix_of_;  // (index, term) -> prefix hash
  struct Committed {
    Term entry_term = 0;   // 0: committed, but only known through a snapshot
    Term commit_term = 0;  // lowest term in which any node knew it committed
  };
  std::vector<Committed> committed_;  // by index (committed_[0] unused)
  struct AppliedAt {
    Term term;
    std::uint64_t chain;
  };
  std::vector<AppliedAt> applied_;  // by index: the one entry every node must apply there
  Index max_applied_ = 0;
  // Client proposals: id -> (forwarded?, index where first applied, 0 if not yet).
  struct Proposal {
    bool forwarded = false;
    Index index = 0;
  };
  std::map<std::uint64_t, Proposal> proposals_;
  std::deque<std::pair<std::uint64_t, Time>> outstanding_;  // (id, proposed at), oldest first
  std::uint64_t next_proposal_ = 1;
  Index max_acked_index_ = 0;
  std::map<std::string, Index> reads_;  // read context -> index it must cover
  std::uint64_t next_read_ = 1;
  std::set<NodeId> removed_;  // removal applied somewhere: retire it
};

void Simulation::Trace(const char* fmt, ...) {
  if (opts_.verbosity < 1) return;
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  std::printf("%10.3f ms   %s\n", static_cast<double>(now_) / kMs, buf);
}

// ------------------------------------------------------------------------------------------
// Setup

void Simulation::MakeProfile() {
  initial_ = opts_.nodes;
  p_.chaos = Between(2000, 4000) * kMs;
  const double losses[] = {0, 0.01, 0.05, 0.15};
  const double dups[] = {0, 0.01, 0.05};
  const double reorders[] = {0, 0.05, 0.2};
  const double rates[] = {0, 0.1, 0.25, 0.5};
  p_.loss = losses[U(4)];
  p_.dup = dups[U(3)];
  p_.reorder = reorders[U(3)];
  p_.delay_hi = Between(300, 3000);
  p_.disk_hi = U(4) == 0 ? Between(5, 15) * kMs : Between(100, 3000);
  p_.crash = rates[U(4)];
  p_.partition = rates[U(4)];
  p_.pause = rates[U(3)] / 2;
  p_.skew = U(3) * 0.15;  // tick period within +-0, 15 or 30 %
  p_.conf = rates[U(4)];
  p_.transfer = rates[U(3)] / 2;
  const double churns[] = {0, 0, 0.2, 0.5};
  p_.churn = churns[U(4)];
  p_.read = U(2) ? 0.05 : 0.25;
  p_.client_gap_hi = Between(3, 25) * kMs;
  const Index snaps[] = {5, 20, 100, 1000000};
  p_.snapshot_every = snaps[U(4)];
  const Index margins[] = {0, 3, 30};
  p_.compact_margin = margins[U(3)];
  if (U(100) < 85) {
    p_.pre_vote = p_.check_quorum = true;
  } else {
    p_.pre_vote = U(2);
    p_.check_quorum = U(2);
  }
  const std::size_t inflight[] = {1, 4, 256};
  p_.max_inflight = inflight[U(3)];
  const std::uint64_t msg[] = {64, 200, 1024, 1 << 20};
  p_.max_msg = msg[U(4)];
  loss_ = p_.loss;
  Trace("profile: nodes=%d chaos=%" PRId64 "ms loss=%.2f dup=%.2f reorder=%.2f crash=%.2f "
        "partition=%.2f pause=%.2f skew=%.2f conf=%.2f transfer=%.2f read=%.2f churn=%.2f "
        "snap_every=%llu prevote=%d checkquorum=%d inflight=%zu maxmsg=%llu",
        initial_, p_.chaos / kMs, p_.loss, p_.dup, p_.reorder, p_.crash, p_.partition, p_.pause,
        p_.skew, p_.conf, p_.transfer, p_.read, p_.churn, (unsigned long long)p_.snapshot_every,
        p_.pre_vote, p_.check_quorum, p_.max_inflight, (unsigned long long)p_.max_msg);
}

Config Simulation::NodeConfig(const Node& n) {
  Config c;
  c.id = n.id;
  c.election_tick = 15;
  c.heartbeat_tick = 5;
  c.pre_vote = p_.pre_vote;
  c.check_quorum = p_.check_quorum;
  c.max_inflight_msgs = p_.max_inflight;
  c.max_size_per_msg = p_.max_msg;
  c.random_seed = Mix(opts_.seed, Mix(n.id, static_cast<std::uint64_t>(n.restarts)));
  c.logger = opts_.verbosity >= 2 ? logger_.get() : nullptr;
  // The application restores from its snapshot, so that is what it has applied.
  c.applied = n.disk.live()->snapshot()->meta.index;
  return c;
}

NodeId Simulation::AddNode() {
  auto n = std::make_unique<Node>();
  n->id = next_id_++;
  const double s = p_.skew;
  n->tick_us = static_cast<Time>(static_cast<double>(kTick) *
                                 (1.0 - s + 2.0 * s * static_cast<double>(U(1001)) / 1000.0));
  n->prefix = {0};
  const NodeId id = n->id;
  nodes_[id] = std::move(n);
  return id;
}

void Simulation::Bootstrap() {
  std::vector<NodeId> ids;
  for (int i = 0; i < initial_; ++i) ids.push_back(AddNode());
  ConfState cs;
  cs.voters = ids;
  const BootstrapState b = raft::Bootstrap(cs);
  for (NodeId id : ids) {
    Node& n = *nodes_[id];
    if (!n.disk.append(b.entries) || !n.disk.set_hard_state(b.hard_state) || !n.disk.sync()) {
      Fail("sim", "bootstrap write failed");
    }
    MirrorAppend(n, b.entries);
    n.durable_hs = b.hard_state;
    StartNode(n);
  }
}

void Simulation::StartNode(Node& n) {
  auto rn = RawNode::Create(NodeConfig(n), n.disk.live());
  if (!rn) {
    Fail("recovery", F("node %llu refused to start from its durable state: %s",
                       (unsigned long long)n.id, rn.error().message.c_str()));
  }
  n.raw = std::move(*rn);
  n.up = true;
  ++n.epoch;
  n.syncing = false;
  n.pending = Ready{};
  // The application restores from the durable snapshot and replays the rest from the log.
  const Snapshot snap = *n.disk.live()->snapshot();
  n.app_conf = snap.meta.conf;
  n.applied = snap.meta.index;
  n.chain = 0;
  n.last_snap = snap.meta.index;
  if (!snap.data.empty()) {
    unsigned long long idx = 0, chain = 0;
    std::sscanf(snap.data.c_str(), "%llu:%llu", &idx, &chain);
    n.chain = chain;
  }
  n.seen_commit = n.raw->raft().log().committed();
  n.seen_role = n.raw->raft().role();
  n.seen_term = n.raw->raft().term();
  Schedule(now_ + Between(0, n.tick_us), Kind::kTick, n.id, n.epoch);
}

void Simulation::Crash(Node& n) {
  const bool lost = n.disk.has_unsynced();
  Trace("CRASH node %llu%s", (unsigned long long)n.id, lost ? " (losing unsynced writes)" : "");
  ++st_.crashes;
  if (lost) ++st_.unsynced_lost;
  n.disk.crash();
  n.raw.reset();
  n.up = false;
  ++n.epoch;
  n.syncing = false;
  n.pending = Ready{};
  n.paused_until = 0;
  n.unsynced_prefix.clear();
  MirrorRebuild(n);
}

void Simulation::Restart(Node& n) {
  ++n.restarts;
  Trace("RESTART node %llu", (unsigned long long)n.id);
  const HardState hs = n.disk.durable().hard_state();
  if (hs.commit < n.durable_hs.commit) {
    Fail("commit_monotonic", F("node %llu restarts with durable commit %llu < %llu before",
                               (unsigned long long)n.id, (unsigned long long)hs.commit,
                               (unsigned long long)n.durable_hs.commit));
  }
  StartNode(n);
}

// ------------------------------------------------------------------------------------------
// Event loop

RunResult Simulation::Run() {
  FatalHandler prev = SetFatalHandler(&ThrowCoreFatal);
  RunResult res;
  try {
    MakeProfile();
    Bootstrap();
    Schedule(Between(10, 100) * kMs, Kind::kChaos);
    Schedule(Between(1, 10) * kMs, Kind::kClient);
    Schedule(p_.chaos, Kind::kHeal);
    const Time hard_stop = p_.chaos + 70000 * kMs;
    while (!done_ && !events_.empty()) {
      Event e = events_.top();
      events_.pop();
      now_ = e.at;
      if (now_ > hard_stop) Fail("sim", "run did not finish");
      ++st_.events;
      Dispatch(e);
      CheckAll();
    }
    if (!done_) Fail("liveness", "the event queue ran dry before convergence");
  } catch (const Violation& v) {
    res.ok = false;
    res.invariant = v.invariant;
    res.detail = v.detail;
  } catch (const CoreFatal& f) {
    res.ok = false;
    res.invariant = "core_fatal";
    res.detail = f.what;
  }
  SetFatalHandler(prev);
  res.at_us = static_cast<std::uint64_t>(now_);
  st_.sim_time_us = static_cast<std::uint64_t>(now_);
  st_.committed = committed_.empty() ? 0 : committed_.size() - 1;
  res.stats = st_;
  return res;
}

void Simulation::Dispatch(const Event& e) {
  switch (e.kind) {
    case Kind::kTick:
    case Kind::kSyncDone: {
      auto it = nodes_.find(e.node);
      if (it == nodes_.end()) return;
      Node& n = *it->second;
      if (!n.up || n.epoch != e.epoch) return;  // crashed since
      if (n.paused_until > now_) {
        Schedule(n.paused_until, e.kind, e.node, e.epoch, e.msg);
        return;
      }
      if (e.kind == Kind::kTick) {
        OnTick(n);
      } else {
        OnSyncDone(n);
      }
      return;
    }
    case Kind::kDeliver:
      OnDeliver(*e.msg);
      return;
    case Kind::kChaos:
      if (!healed_) {
        Chaos();
        Schedule(now_ + Between(20, 150) * kMs, Kind::kChaos);
      }
      return;
    case Kind::kClient:
      if (!healed_) {
        Client();
        Schedule(now_ + Between(kMs / 2, p_.client_gap_hi), Kind::kClient);
      }
      return;
    case Kind::kRetire: {
      Node& n = *nodes_.at(e.node);
      if (n.retired) return;
      Trace("RETIRE node %llu (its removal is committed)", (unsigned long long)n.id);
      if (n.up) Crash(n);
      n.retired = true;
      return;
    }
    case Kind::kCrash: {  // leader churn: crash a node that just became leader
      Node& n = *nodes_.at(e.node);
      if (healed_ || !n.up || n.epoch != e.epoch) return;
      ++st_.churn_crashes;
      Crash(n);
      return;
    }
    case Kind::kHeal:
      Heal();
      return;
    case Kind::kLiveness:
      if (!Liveness()) Schedule(now_ + 5 * kMs, Kind::kLiveness);
      return;
  }
}

void Simulation::OnTick(Node& n) {
  n.raw->Tick();
  Pump(n);
  Schedule(now_ + n.tick_us, Kind::kTick, n.id, n.epoch);
}

void Simulation::OnDeliver(const Message& m) {
  if (Blocked(m.from, m.to)) {  // the partition started while it was in flight
    ++st_.dropped;
    return;
  }
  auto it = nodes_.find(m.to);
  if (it == nodes_.end()) return;
  Node& n = *it->second;
  if (!n.up) {
    ++st_.dropped;
    return;
  }
  if (n.paused_until > now_) {
    Schedule(n.paused_until, Kind::kDeliver, kNone, 0, std::make_shared<const Message>(m));
    return;
  }
  (void)n.raw->Step(m);  // errors are the peer's problem (e.g. no leader to forward to)
  Pump(n);
}

// Persist a Ready: write it, then (after the disk's latency) sync, and only then send its
// messages. The core's safety rests on this order; opts_.ack_before_sync breaks it on purpose.
void Simulation::Pump(Node& n) {
  if (!n.up || n.syncing || n.paused_until > now_ || !n.raw->HasReady()) return;
  Ready rd = n.raw->GetReady();
  if (rd.snapshot) {
    if (auto r = n.disk.apply_snapshot(*rd.snapshot); !r) Fail("sim", "apply_snapshot: " + r.error().message);
    MirrorSnapshot(n, rd.snapshot->meta.index, rd.snapshot->meta.term);
  }
  if (!rd.entries.empty()) {
    if (auto r = n.disk.append(rd.entries); !r) Fail("sim", "append: " + r.error().message);
    MirrorAppend(n, rd.entries, /*durable=*/false);
  }
  if (rd.hard_state) {
    if (auto r = n.disk.set_hard_state(*rd.hard_state); !r) Fail("sim", "hard state");
  }
  if (opts_.ack_before_sync) {
    for (const Message& m : rd.messages) Send(m);  // MUTATION: acknowledge before durable
    rd.messages.clear();
  }
  n.pending = std::move(rd);
  n.syncing = true;
  Schedule(now_ + Between(p_.disk_lo, p_.disk_hi), Kind::kSyncDone, n.id, n.epoch);
}

void Simulation::OnSyncDone(Node& n) {
  if (auto r = n.disk.sync(); !r) Fail("sim", "sync: " + r.error().message);
  CheckDurable(n);
  for (const auto& [index, term, hash] : n.unsynced_prefix) RegisterPrefix(n, index, term, hash);
  n.unsynced_prefix.clear();
  Ready rd = std::move(n.pending);
  n.pending = Ready{};
  for (const Message& m : rd.messages) Send(m);  // durable now: safe to acknowledge
  if (rd.snapshot) InstallSnapshot(n, *rd.snapshot);
  for (const Entry& e : rd.committed_entries) Apply(n, e);
  for (const ReadState& rs : rd.read_states) {
    auto it = reads_.find(rs.context);
    if (it == reads_.end()) continue;
    ++st_.reads_checked;
    if (rs.index < it->second) {
      Fail("read_index_linearizable",
           F("node %llu answered read %s at index %llu, but index %llu was already applied when "
             "the read was issued",
             (unsigned long long)n.id, rs.context.c_str(), (unsigned long long)rs.index,
             (unsigned long long)it->second));
    }
  }
  n.raw->Advance();
  n.syncing = false;
  MaybeSnapshot(n);
  Pump(n);
}

void Simulation::Send(const Message& m) {
  ++st_.messages;
  if (opts_.check_acks) CheckAckDurable(*nodes_.at(m.from), m);
  auto it = nodes_.find(m.to);
  const bool gone = it == nodes_.end() || !it->second->up;
  if (Blocked(m.from, m.to) || gone) {
    ++st_.dropped;
    // The transport notices unreachable peers (not always, and only from the live sender).
    Node& from = *nodes_.at(m.from);
    if (from.up && Chance(0.3)) {
      if (m.type == MessageType::kSnapshot) {
        from.raw->ReportSnapshot(m.to, false);
      } else {
        from.raw->ReportUnreachable(m.to);
      }
    }
    return;
  }
  if (Chance(loss_)) {
    ++st_.dropped;
    return;
  }
  auto msg = std::make_shared<const Message>(m);
  const int copies = Chance(healed_ ? 0 : p_.dup) ? 2 : 1;
  if (copies == 2) ++st_.duplicated;
  for (int c = 0; c < copies; ++c) {
    Time d = Between(p_.delay_lo, p_.delay_hi);
    if (!healed_ && Chance(p_.reorder)) d += Between(5, 60) * kMs;
    Schedule(now_ + d, Kind::kDeliver, kNone, 0, msg);
  }
}

// ------------------------------------------------------------------------------------------
// The application: a hash chain over the applied entries, snapshots of it, and clients.

void Simulation::Apply(Node& n, const Entry& e) {
  if (e.index != n.applied + 1) {
    Fail("apply_order", F("node %llu applied %llu after %llu", (unsigned long long)n.id,
                          (unsigned long long)e.index, (unsigned long long)n.applied));
  }
  n.chain = EntryHash(n.chain, e);
  n.applied = e.index;
  if (applied_.size() <= e.index) applied_.resize(e.index + 1, AppliedAt{0, 0});
  AppliedAt& g = applied_[e.index];
  const bool first = g.chain == 0;
  if (first) {
    g = AppliedAt{e.term, n.chain};
    max_applied_ = std::max(max_applied_, e.index);
  } else if (g.chain != n.chain) {
    Fail("state_machine_safety",
         F("node %llu applied (index %llu, term %llu) but another node applied term %llu there "
           "(or a different history before it)",
           (unsigned long long)n.id, (unsigned long long)e.index, (unsigned long long)e.term,
           (unsigned long long)g.term));
  }
  if (e.type == EntryType::kConfChange) {
    auto ce = DecodeConfEntry(e.data);
    if (!ce) Fail("sim", "undecodable configuration entry applied");
    n.app_conf = ce->next;
    if (first) {
      ++st_.conf_changes;
      Trace("committed configuration entry %llu: %zu voters, %zu learners",
            (unsigned long long)e.index, ce->next.voters.size(), ce->next.learners.size());
    }
    if (ce->change.type == ConfChange::Type::kRemove && !removed_.count(ce->change.node)) {
      // The operator shuts a removed server down once its removal is committed.
      removed_.insert(ce->change.node);
      Schedule(now_ + Between(0, 300) * kMs, Kind::kRetire, ce->change.node);
    }
    return;
  }
  if (e.data.size() > 1 && e.data[0] == 'p') {
    const std::uint64_t id = std::stoull(e.data.substr(1));
    auto it = proposals_.find(id);
    if (it == proposals_.end()) Fail("sim", "applied an entry no client proposed: " + e.data);
    Proposal& p = it->second;
    if (p.index == 0) {
      p.index = e.index;  // the client is acknowledged now
      ++st_.acked;
      max_acked_index_ = std::max(max_acked_index_, e.index);
    } else if (p.index != e.index && !p.forwarded) {
      // A proposal handed straight to the leader is appended once; a second copy in the log
      // means the core duplicated it. (Forwarded ones may be duplicated by the network, which
      // the application de-duplicates by id, as client sessions do in §6.3.)
      Fail("exactly_once", F("proposal %s applied at %llu and again at %llu", e.data.c_str(),
                             (unsigned long long)p.index, (unsigned long long)e.index));
    }
  }
}

void Simulation::InstallSnapshot(Node& n, const Snapshot& s) {
  unsigned long long idx = 0, chain = 0;
  if (std::sscanf(s.data.c_str(), "%llu:%llu", &idx, &chain) != 2 || idx != s.meta.index) {
    Fail("sim", "bad snapshot data");
  }
  if (s.meta.index >= applied_.size() || applied_[s.meta.index].chain != chain) {
    Fail("state_machine_safety", F("node %llu installed a snapshot at %llu whose state no node "
                                   "reached by applying entries",
                                   (unsigned long long)n.id, (unsigned long long)s.meta.index));
  }
  n.applied = s.meta.index;
  n.chain = chain;
  n.app_conf = s.meta.conf;
  n.last_snap = s.meta.index;
  ++st_.snapshots_installed;
  Trace("node %llu installed snapshot at %llu", (unsigned long long)n.id,
        (unsigned long long)s.meta.index);
}

void Simulation::MaybeSnapshot(Node& n) {
  if (n.applied < n.last_snap + p_.snapshot_every) return;
  const std::string data = F("%llu:%llu", (unsigned long long)n.applied, (unsigned long long)n.chain);
  if (auto r = n.disk.create_snapshot(n.applied, n.app_conf, data); !r) {
    Fail("sim", "create_snapshot: " + r.error().message);
  }
  n.last_snap = n.applied;
  const Index to = n.applied > p_.compact_margin ? n.applied - p_.compact_margin : 0;
  if (to > n.disk.live()->first_index() - 1) {
    if (auto r = n.disk.compact(to); !r) Fail("sim", "compact: " + r.error().message);
    MirrorCompact(n, to);
  }
}

std::vector<Simulation::Node*> Simulation::UpNodes() {
  std::vector<Node*> out;
  for (auto& [id, n] : nodes_) {
    if (n->up && n->paused_until <= now_) out.push_back(n.get());  // paused: serves nobody
  }
  return out;
}

Simulation::Node* Simulation::LeaderNode(bool highest_term_only) {
  std::vector<Node*> leaders;
  for (Node* n : UpNodes()) {
    if (n->raw->raft().role() == Role::kLeader) leaders.push_back(n);
  }
  if (leaders.empty()) return nullptr;
  if (!highest_term_only) return leaders[U(leaders.size())];
  Node* best = leaders[0];
  for (Node* n : leaders) {
    if (n->raw->raft().term() > best->raw->raft().term()) best = n;
  }
  return best;
}

void Simulation::Client() {
  auto up = UpNodes();
  if (up.empty()) return;
  if (Chance(p_.read)) {
    // Reads go anywhere, including to stale leaders: the check is that none returns an index
    // older than something already applied when the read was issued.
    Node* target = Chance(0.5) ? LeaderNode(false) : nullptr;
    if (!target) target = Pick(up);
    const std::string ctx = "r" + std::to_string(next_read_++);
    if (target->raw->ReadIndex(ctx)) {
      Trace("READ %s at node %llu (%s), must cover %llu", ctx.c_str(), (unsigned long long)target->id,
            RoleName(target->raw->raft().role()), (unsigned long long)max_applied_);
      reads_[ctx] = max_applied_;
      ++st_.reads;
      Pump(*target);
    }
    return;
  }
  // Mostly the current leader; sometimes whichever node believes it leads (a stale leader on the
  // wrong side of a partition builds an uncommitted tail); sometimes anyone (forwarding).
  Node* target = nullptr;
  const auto r = U(10);
  if (r < 6) {
    target = LeaderNode(true);
  } else if (r < 8) {
    target = LeaderNode(false);
  }
  if (!target) target = Pick(up);
  // Clients are closed-loop, as real ones are: at most kMaxOutstanding proposals of the last two
  // seconds may be waiting for their answer (older ones count as lost).
  constexpr std::size_t kMaxOutstanding = 64;
  while (!outstanding_.empty() &&
         (proposals_[outstanding_.front().first].index != 0 || outstanding_.front().second < now_ - 2000 * kMs)) {
    outstanding_.pop_front();
  }
  if (outstanding_.size() >= kMaxOutstanding) return;
  const std::uint64_t id = next_proposal_++;
  const bool forwarded = target->raw->raft().role() != Role::kLeader;
  if (target->raw->Propose("p" + std::to_string(id))) {
    proposals_[id] = Proposal{forwarded, 0};
    outstanding_.emplace_back(id, now_);
    ++st_.proposals;
    Pump(*target);
  }
}

// ------------------------------------------------------------------------------------------
// Faults

void Simulation::Chaos() {
  std::vector<Node*> up, down;
  for (auto& [id, n] : nodes_) {
    if (n->retired) continue;
    (n->up ? up : down).push_back(n.get());
  }
  if (!up.empty() && Chance(p_.crash)) {
    // Prefer nodes with writes in flight: that is where unsynced data gets lost.
    std::vector<Node*> syncing;
    for (Node* n : up) {
      if (n->disk.has_unsynced()) syncing.push_back(n);
    }
    Node* victim = !syncing.empty() && Chance(0.5) ? Pick(syncing) : Pick(up);
    if (Chance(0.3)) {
      if (Node* l = LeaderNode(true)) victim = l;
    }
    Crash(*victim);
  }
  if (!down.empty() && Chance(0.4)) Restart(*Pick(down));
  if (Chance(p_.partition)) ChaosPartition();
  if (Chance(0.05)) loss_ = Chance(0.5) ? p_.loss : p_.loss * 3;
  if (!up.empty() && Chance(p_.pause)) {
    Node* n = Pick(up);
    n->paused_until = now_ + Between(50, 800) * kMs;
    ++st_.pauses;
    Trace("PAUSE node %llu until %.1f ms", (unsigned long long)n->id,
          static_cast<double>(n->paused_until) / kMs);
  }
  if (p_.skew > 0 && !up.empty() && Chance(0.05)) {
    Node* n = Pick(up);
    const double s = p_.skew;
    n->tick_us = static_cast<Time>(static_cast<double>(kTick) *
                                   (1.0 - s + 2.0 * s * static_cast<double>(U(1001)) / 1000.0));
  }
  if (Chance(p_.conf)) ChaosMembership();
  if (Chance(p_.transfer)) {
    if (Node* l = LeaderNode(true)) {
      const auto& voters = l->raw->raft().conf().voters;
      if (!voters.empty()) {
        const NodeId to = Pick(voters);
        if (l->raw->TransferLeadership(to)) {
          ++st_.transfers;
          Trace("TRANSFER leadership %llu -> %llu", (unsigned long long)l->id,
                (unsigned long long)to);
          Pump(*l);
        }
      }
    }
  }
}

void Simulation::ChaosPartition() {
  std::vector<NodeId> ids;
  for (auto& [id, n] : nodes_) {
    if (!n->retired) ids.push_back(id);
  }
  if (ids.size() < 2) return;
  ++st_.partitions;
  switch (U(5)) {
    case 0: {  // isolate one node, both ways
      const NodeId a = Pick(ids);
      for (NodeId b : ids) {
        if (b != a) {
          blocked_.insert({a, b});
          blocked_.insert({b, a});
        }
      }
      Trace("PARTITION isolate %llu", (unsigned long long)a);
      break;
    }
    case 1: {  // split into two sides
      std::set<NodeId> side;
      for (NodeId id : ids) {
        if (Chance(0.5)) side.insert(id);
      }
      for (NodeId a : ids) {
        for (NodeId b : ids) {
          if (side.count(a) != side.count(b)) blocked_.insert({a, b});
        }
      }
      Trace("PARTITION split (%zu | %zu)", side.size(), ids.size() - side.size());
      break;
    }
    case 2: {  // one-way links: a hears b, b does not hear a
      for (int k = 0; k < 3; ++k) {
        const NodeId a = Pick(ids), b = Pick(ids);
        if (a != b) blocked_.insert({a, b});
      }
      Trace("PARTITION one-way links");
      break;
    }
    default:
      blocked_.clear();
      Trace("PARTITION healed");
      break;
  }
}

void Simulation::ChaosMembership() {
  Node* l = LeaderNode(true);
  if (!l) return;
  const ConfState cs = l->raw->raft().conf();
  const int voters = static_cast<int>(cs.voters.size());
  int alive = 0;
  for (auto& [id, n] : nodes_) alive += n->retired ? 0 : 1;
  std::vector<ConfChange> options;
  if (alive < initial_ + 3) options.push_back(ConfChange{ConfChange::Type::kAddLearner, next_id_, ""});
  for (NodeId id : cs.learners) {
    if (voters < initial_ + 2) options.push_back(ConfChange{ConfChange::Type::kPromote, id, ""});
    options.push_back(ConfChange{ConfChange::Type::kRemove, id, ""});
  }
  if (voters > std::max(1, initial_ - 2)) {
    for (NodeId id : cs.voters) options.push_back(ConfChange{ConfChange::Type::kRemove, id, ""});
  }
  if (options.empty()) return;
  const ConfChange cc = Pick(options);
  auto r = l->raw->ProposeConfChange(cc);
  const char* what = cc.type == ConfChange::Type::kAddLearner ? "add learner"
                     : cc.type == ConfChange::Type::kPromote  ? "promote"
                                                              : "remove";
  Trace("CONF %s %llu at leader %llu: %s", what, (unsigned long long)cc.node,
        (unsigned long long)l->id, r ? "proposed" : r.error().message.c_str());
  if (!r) return;
  if (cc.type == ConfChange::Type::kAddLearner) {
    // The new server starts with empty storage and waits to be contacted.
    const NodeId id = AddNode();
    StartNode(*nodes_.at(id));
  }
  Pump(*l);
}

void Simulation::Heal() {
  healed_ = true;
  heal_at_ = now_;
  blocked_.clear();
  loss_ = 0;
  Trace("HEAL: network repaired, every node restarted");
  for (auto& [id, n] : nodes_) {
    if (n->retired) continue;
    n->paused_until = 0;
    if (!n->up) Restart(*n);
  }
  Schedule(now_ + 5 * kMs, Kind::kLiveness);
}

// After the heal: a leader must emerge, commit a fresh entry, and every member must apply
// everything any client was told was committed.
bool Simulation::Liveness() {
  const Time since = now_ - heal_at_;
  Term max_term = 0;
  for (Node* n : UpNodes()) max_term = std::max(max_term, n->raw->raft().term());
  Node* l = LeaderNode(true);
  if (l && l->raw->raft().term() != max_term) l = nullptr;
  if (!l) {
    if (since > 5000 * kMs) {
      Fail("liveness", F("no leader %.0f ms after the faults healed", static_cast<double>(since) / kMs));
    }
    return false;
  }
  if (leader_seen_at_ < 0) {
    leader_seen_at_ = now_;
    st_.heal_to_leader_us = static_cast<std::uint64_t>(since);
  }
  if (marker_leader_ != l->id || marker_term_ != l->raw->raft().term() ||
      (marker_index_ == 0 && since % (200 * kMs) < 5 * kMs)) {
    const std::uint64_t id = next_proposal_++;
    if (l->raw->Propose("p" + std::to_string(id))) {
      proposals_[id] = Proposal{false, 0};
      marker_id_ = id;
      marker_leader_ = l->id;
      marker_term_ = l->raw->raft().term();
      Pump(*l);
    }
  }
  marker_index_ = marker_id_ ? proposals_[marker_id_].index : 0;
  bool converged = marker_index_ != 0;
  std::string lag;
  const ConfState& cs = l->raw->raft().conf();
  std::vector<NodeId> members = cs.voters;
  members.insert(members.end(), cs.learners.begin(), cs.learners.end());
  const Index need = std::max(marker_index_, max_acked_index_);
  for (NodeId id : members) {
    auto it = nodes_.find(id);
    if (it == nodes_.end()) continue;  // added to the log, never started (cannot happen)
    Node& n = *it->second;
    if (!n.up || n.applied < need) {
      converged = false;
      lag += F(" node %llu applied %llu/%llu%s;", (unsigned long long)id,
               (unsigned long long)n.applied, (unsigned long long)need, n.up ? "" : " (down)");
    }
  }
  if (converged) {
    st_.heal_to_converged_us = static_cast<std::uint64_t>(since);
    Trace("CONVERGED %.1f ms after heal: leader %llu term %llu, applied %llu",
          static_cast<double>(since) / kMs, (unsigned long long)l->id,
          (unsigned long long)l->raw->raft().term(), (unsigned long long)need);
    done_ = true;
    return true;
  }
  if (since > 60000 * kMs) {
    Fail("liveness", F("not converged %.0f ms after heal (marker index %llu):%s",
                       static_cast<double>(since) / kMs, (unsigned long long)marker_index_,
                       lag.c_str()));
  }
  return false;
}

// ------------------------------------------------------------------------------------------
// Checks

void Simulation::CheckAll() {
  for (auto& [id, n] : nodes_) {
    if (n->up) CheckNode(*n);
  }
}

void Simulation::CheckNode(Node& n) {
  const Raft& r = n.raw->raft();
  // A live node's term never decreases.
  if (r.term() < n.seen_term) {
    Fail("term_monotonic", F("node %llu term went from %llu to %llu", (unsigned long long)n.id,
                             (unsigned long long)n.seen_term, (unsigned long long)r.term()));
  }
  const Term prev_term = n.seen_term;
  n.seen_term = r.term();
  st_.max_term = std::max<std::uint64_t>(st_.max_term, r.term());

  // Commit index never goes backwards, and every index is committed with one entry only.
  const Index c = r.log().committed();
  if (c < n.seen_commit) {
    Fail("commit_monotonic", F("node %llu commit index went from %llu to %llu",
                               (unsigned long long)n.id, (unsigned long long)n.seen_commit,
                               (unsigned long long)c));
  }
  if (c > n.seen_commit) {
    if (r.role() == Role::kLeader && n.seen_role == Role::kLeader && r.log().term_or_zero(c) != r.term()) {
      ++st_.old_term_commits;
      if (opts_.check_commit_rule) {
        Fail("leader_commit_rule",
             F("leader %llu of term %llu advanced its commit index to %llu, an entry of term %llu "
               "(Figure 2: only log[N].term == currentTerm)",
               (unsigned long long)n.id, (unsigned long long)r.term(), (unsigned long long)c,
               (unsigned long long)r.log().term_or_zero(c)));
      }
    }
    if (committed_.size() <= c) committed_.resize(c + 1);
    Index lowered_from = 0;
    for (Index i = n.seen_commit + 1; i <= c; ++i) {
      const Term et = r.log().term_or_zero(i);  // 0 if only covered by a snapshot
      Committed& g = committed_[i];
      if (et != 0 && g.entry_term != 0 && g.entry_term != et) {
        Fail("state_machine_safety",
             F("index %llu committed with term %llu on node %llu but term %llu elsewhere",
               (unsigned long long)i, (unsigned long long)et, (unsigned long long)n.id,
               (unsigned long long)g.entry_term));
      }
      if (g.entry_term == 0) g.entry_term = et;
      if (g.commit_term == 0 || r.term() < g.commit_term) {
        g.commit_term = r.term();
        if (lowered_from == 0) lowered_from = i;
      }
    }
    n.seen_commit = c;
    // Leader completeness for leaders already in office whose term is later than the commit.
    if (lowered_from) {
      for (auto& [id, l] : nodes_) {  // paused ones included
        if (l->up && l->raw->raft().role() == Role::kLeader) {
          CheckLeaderHasCommitted(*l, lowered_from, c);
        }
      }
    }
  }

  // Election safety: one leader per term, ever. A leader counts once its term and self-vote are
  // durable: a single voter wins in memory at once, and if it crashes before its first sync it has
  // done nothing anyone could observe (it sends nothing, and commits only durable entries), so
  // the term may legitimately be won again.
  if (r.role() == Role::kLeader && n.leader_term != r.term() && n.durable_hs.term == r.term() &&
      n.durable_hs.vote == n.id) {
    n.leader_term = r.term();
    auto [it, fresh] = leader_of_term_.emplace(r.term(), n.id);
    if (!fresh && it->second != n.id) {
      Fail("election_safety", F("nodes %llu and %llu both leaders in term %llu",
                                (unsigned long long)it->second, (unsigned long long)n.id,
                                (unsigned long long)r.term()));
    }
  }
  if (r.role() == Role::kLeader && (n.seen_role != Role::kLeader || prev_term != r.term())) {
    ++st_.leaders_elected;
    Trace("LEADER node %llu term %llu (last index %llu)", (unsigned long long)n.id,
          (unsigned long long)r.term(), (unsigned long long)r.log().last_index());
    if (!healed_ && Chance(p_.churn)) {
      // Short-lived leaders leave partially replicated tails from several terms behind: the
      // ground where Figure 8's "commit only entries of the current term" matters. Often within
      // a round trip: the new leader's first appends are on the wire, not yet acknowledged.
      Schedule(now_ + (Chance(0.5) ? Between(0, 3 * kMs) : Between(0, 20 * kMs)), Kind::kCrash,
               n.id, n.epoch);
    }
    // Leader completeness: the new leader holds every entry committed in an earlier term.
    CheckLeaderHasCommitted(n, 1, committed_.empty() ? 0 : committed_.size() - 1);
  }
  n.seen_role = r.role();
}

void Simulation::CheckLeaderHasCommitted(Node& n, Index from, Index to) {
  const Raft& r = n.raw->raft();
  from = std::max(from, r.log().first_index());  // below: covered by its snapshot
  for (Index i = from; i <= to && i < committed_.size(); ++i) {
    const Committed& g = committed_[i];
    if (g.commit_term == 0 || g.commit_term >= r.term() || g.entry_term == 0) continue;
    const Term t = r.log().term_or_zero(i);
    if (t != g.entry_term) {
      Fail("leader_completeness",
           F("leader %llu of term %llu has term %llu at index %llu, but (%llu, term %llu) was "
             "committed in term %llu",
             (unsigned long long)n.id, (unsigned long long)r.term(), (unsigned long long)t,
             (unsigned long long)i, (unsigned long long)i, (unsigned long long)g.entry_term,
             (unsigned long long)g.commit_term));
    }
  }
}

// Persist before send: an acknowledgement may only promise what is already durable.
void Simulation::CheckAckDurable(Node& n, const Message& m) {
  const MemoryStorage& d = n.disk.durable();
  if (m.type == MessageType::kAppendResp && !m.reject && m.index > 0) {
    // "I hold everything up to m.index": at least the entry must be on disk (or under the
    // durable snapshot) and be the one the live log has there.
    const bool on_disk = m.index <= d.last_index() &&
                         (m.index < d.first_index() ||
                          (d.term(m.index) && n.disk.live()->term(m.index) &&
                           *d.term(m.index) == *n.disk.live()->term(m.index)));
    if (!on_disk) {
      Fail("ack_after_persist", F("node %llu acknowledged index %llu to %llu, durable log ends at "
                                  "%llu", (unsigned long long)n.id, (unsigned long long)m.index,
                                  (unsigned long long)m.to, (unsigned long long)d.last_index()));
    }
  }
  if (m.type == MessageType::kVoteResp && !m.reject) {
    // Either the vote itself is on disk, or a later term is (which rules out any other vote in
    // the vote's term just as well).
    const HardState hs = d.hard_state();
    if (hs.term < m.term || (hs.term == m.term && hs.vote != m.to)) {
      Fail("ack_after_persist", F("node %llu granted its vote to %llu in term %llu before "
                                  "recording it durably", (unsigned long long)n.id,
                                  (unsigned long long)m.to, (unsigned long long)m.term));
    }
  }
}

void Simulation::CheckDurable(Node& n) {
  const HardState hs = n.disk.durable().hard_state();
  if (hs.commit < n.durable_hs.commit) {
    Fail("commit_monotonic", F("node %llu durable commit went from %llu to %llu",
                               (unsigned long long)n.id, (unsigned long long)n.durable_hs.commit,
                               (unsigned long long)hs.commit));
  }
  if (hs.term < n.durable_hs.term) {
    Fail("term_monotonic", F("node %llu durable term went backwards", (unsigned long long)n.id));
  }
  if (hs.term == n.durable_hs.term && n.durable_hs.vote != kNone && hs.vote != n.durable_hs.vote) {
    Fail("one_vote_per_term", F("node %llu voted for %llu and then %llu in term %llu",
                                (unsigned long long)n.id, (unsigned long long)n.durable_hs.vote,
                                (unsigned long long)hs.vote, (unsigned long long)hs.term));
  }
  n.durable_hs = hs;
}

// Log matching (§5.3): two logs with an entry of the same index and term are identical up to it.
// Every node's log is mirrored as prefix hashes; the first node to write (index, term) fixes the
// prefix hash every other node must have there.
void Simulation::MirrorAppend(Node& n, const std::vector<Entry>& ents, bool durable) {
  for (const Entry& e : ents) {
    if (e.index <= n.prefix_base) continue;  // below the snapshot
    const Index k = e.index - n.prefix_base;
    if (k > n.prefix.size()) {
      Fail("sim", F("node %llu log gap at %llu", (unsigned long long)n.id, (unsigned long long)e.index));
    }
    n.prefix.resize(k);
    const std::uint64_t h = EntryHash(n.prefix.back(), e);
    n.prefix.push_back(h);
    if (durable) {
      RegisterPrefix(n, e.index, e.term, h);
    } else {
      n.unsynced_prefix.emplace_back(e.index, e.term, h);
    }
  }
}

void Simulation::RegisterPrefix(Node& n, Index index, Term term, std::uint64_t h) {
  auto [it, fresh] = prefix_of_.emplace(std::make_pair(index, term), h);
  if (!fresh && it->second != h) {
    Fail("log_matching", F("node %llu has (index %llu, term %llu) with a history that differs "
                           "from another node's entry at the same index and term",
                           (unsigned long long)n.id, (unsigned long long)index,
                           (unsigned long long)term));
  }
}

void Simulation::MirrorSnapshot(Node& n, Index index, Term term) {
  auto it = prefix_of_.find({index, term});
  if (it == prefix_of_.end()) {
    Fail("log_matching", F("node %llu got a snapshot ending at (index %llu, term %llu), an entry "
                           "no node ever persisted", (unsigned long long)n.id,
                           (unsigned long long)index, (unsigned long long)term));
  }
  n.prefix_base = index;
  n.prefix = {it->second};
}

void Simulation::MirrorCompact(Node& n, Index to) {
  if (to <= n.prefix_base) return;
  n.prefix.erase(n.prefix.begin(), n.prefix.begin() + static_cast<std::ptrdiff_t>(to - n.prefix_base));
  n.prefix_base = to;
}

void Simulation::MirrorRebuild(Node& n) {
  const MemoryStorage& d = n.disk.durable();
  const Index base = d.first_index() - 1;
  std::uint64_t h = 0;
  if (base > 0) {
    auto it = prefix_of_.find({base, *d.term(base)});
    if (it == prefix_of_.end()) Fail("sim", "durable snapshot of an unknown entry");
    h = it->second;
  }
  n.prefix_base = base;
  n.prefix = {h};
  if (d.last_index() > base) {
    auto ents = d.entries(base + 1, d.last_index() + 1, UINT64_MAX);
    if (!ents) Fail("sim", "durable log unreadable");
    MirrorAppend(n, *ents);
  }
}

// ------------------------------------------------------------------------------------------
// Benchmark: no faults, no checks beyond the basics, zero-latency network and disk.

BenchResult Simulation::Bench(std::uint64_t proposals, int payload, int inflight) {
  bench_ = true;
  initial_ = 3;
  p_ = Profile{};
  p_.delay_lo = p_.delay_hi = 50;   // 50 us one-way
  p_.disk_lo = p_.disk_hi = 20;     // 20 us per sync
  p_.snapshot_every = 10000;
  p_.compact_margin = 1000;
  p_.max_msg = 1 << 20;
  p_.max_inflight = 256;
  Bootstrap();
  const std::string pad(static_cast<std::size_t>(payload), 'x');
  BenchResult br;
  const auto start = std::chrono::steady_clock::now();
  Node* l = nullptr;
  while (st_.acked < proposals && !events_.empty()) {
    if (!l || l->raw->raft().role() != Role::kLeader) l = LeaderNode(true);
    if (l && st_.proposals - st_.acked < static_cast<std::uint64_t>(inflight)) {
      for (int k = 0; k < 64 && st_.proposals - st_.acked < static_cast<std::uint64_t>(inflight); ++k) {
        const std::uint64_t id = next_proposal_++;
        if (!l->raw->Propose("p" + std::to_string(id) + ":" + pad)) break;
        proposals_[id] = Proposal{false, 0};
        ++st_.proposals;
      }
      Pump(*l);
    }
    Event e = events_.top();
    events_.pop();
    now_ = e.at;
    Dispatch(e);
  }
  const auto end = std::chrono::steady_clock::now();
  br.committed = st_.acked;
  br.wall_seconds = std::chrono::duration<double>(end - start).count();
  br.per_second = static_cast<double>(br.committed) / br.wall_seconds;
  br.sim_seconds = static_cast<double>(now_) / 1e6;
  return br;
}

}  // namespace

RunResult Run(const Options& opts) {
  Simulation s(opts);
  return s.Run();
}

BenchResult Bench(std::uint64_t proposals, int payload_bytes, int inflight) {
  Options o;
  o.seed = 1;
  Simulation s(o);
  return s.Bench(proposals, payload_bytes, inflight);
}

}  // namespace raft::sim
