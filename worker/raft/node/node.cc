#include "worker/raft/node/node.h"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <functional>
#include <map>
#include <optional>
#include <mutex>
#include <thread>
#include <utility>

#include "worker/raft/confchange.h"
#include "worker/raft/logger.h"
#include "worker/raft/wire.h"

namespace raft {
namespace {

using Clock = std::chrono::steady_clock;

// Client entries carry who proposed them, so the proposer — which may be a follower that
// forwarded the proposal — recognises its own entry when it is applied:
//   u64 proposer id | u64 proposer sequence number | payload
struct Envelope {
  NodeId proposer = kNone;
  std::uint64_t seq = 0;
  std::string_view payload;
};

std::string Seal(NodeId proposer, std::uint64_t seq, std::string_view payload) {
  std::string out;
  out.reserve(16 + payload.size());
  wire::PutFixed(out, proposer, 8);
  wire::PutFixed(out, seq, 8);
  out.append(payload);
  return out;
}

std::optional<Envelope> Open(std::string_view data) {
  wire::Reader r(data);
  Envelope e;
  e.proposer = r.Fixed(8);
  e.seq = r.Fixed(8);
  if (!r.ok()) return std::nullopt;
  e.payload = r.Rest();
  return e;
}

class SpdlogBridge final : public Logger {
 public:
  explicit SpdlogBridge(NodeId id) : prefix_("raft " + std::to_string(id) + ": ") {}
  void Log(LogLevel level, std::string_view line) override {
    const auto l = level == LogLevel::kWarn   ? spdlog::level::warn
                   : level == LogLevel::kInfo ? spdlog::level::info
                                              : spdlog::level::debug;
    spdlog::log(l, "{}{}", prefix_, line);
  }

 private:
  std::string prefix_;
};

template <class T>
struct Waiter {
  std::promise<Result<T>> promise;
  Clock::time_point deadline;
};

template <class T>
std::future<Result<T>> Failed(ErrorCode code, std::string detail) {
  std::promise<Result<T>> p;
  p.set_value(Fail(code, std::move(detail)));
  return p.get_future();
}

}  // namespace

// Everything below runs on the loop thread, except the methods that post to the inbox.
class Node::Loop {
 public:
  Loop(NodeOptions options, std::unique_ptr<RocksStorage> storage, StateMachine& sm,
       Transport& transport)
      : options_(std::move(options)),
        storage_(std::move(storage)),
        sm_(sm),
        transport_(transport),
        logger_(options_.raft.id) {}

  ~Loop() { Stop(); }

  Result<void> Init() {
    if (storage_->last_index() == 0 && storage_->hard_state().empty() && options_.bootstrap) {
      const BootstrapState bs = Bootstrap(*options_.bootstrap, options_.bootstrap_context);
      if (auto r = storage_->append(bs.entries); !r) return r;
      if (auto r = storage_->set_hard_state(bs.hard_state); !r) return r;
    }
    auto snap = storage_->snapshot();
    if (!snap) return common::Unexpected<Error>{snap.error()};
    if (!snap->empty()) {
      if (auto r = RestoreFrom(*snap); !r) return r;
    }
    Config cfg = options_.raft;
    cfg.applied = applied_;
    if (!cfg.logger) cfg.logger = &logger_;
    auto raw = RawNode::Create(cfg, storage_.get());
    if (!raw) return common::Unexpected<Error>{raw.error()};
    raw_ = std::move(*raw);
    PublishStatus();
    thread_ = std::thread([this] { Run(); });
    return {};
  }

  // Runs `op` on the loop thread; dropped once the node is stopping (only peer reports are posted:
  // a stopped node has no one to report to).
  void Post(std::function<void()> op) {
    {
      std::lock_guard lk(mu_);
      if (stopped_) return;
      ops_.push_back(std::move(op));
    }
    cv_.notify_one();
  }

  // Posts a request whose answer is a future; fails it at once if the loop has stopped.
  template <class T, class F>
  std::future<Result<T>> Request(F body) {
    auto w = std::make_shared<Waiter<T>>();
    w->deadline = Clock::now() + options_.request_timeout;
    auto fut = w->promise.get_future();
    {
      std::lock_guard lk(mu_);
      if (stopped_) return Failed<T>(ErrorCode::kStopped, "node stopped");
      ops_.push_back([this, w, body = std::move(body)]() mutable { body(*this, std::move(*w)); });
    }
    cv_.notify_one();
    return fut;
  }

  void Receive(std::vector<Message> messages) {
    {
      std::lock_guard lk(mu_);
      for (auto& m : messages) inbox_.push_back(std::move(m));
    }
    cv_.notify_one();
  }

  NodeStatus Status() const {
    std::lock_guard lk(status_mu_);
    return status_;
  }

  void Stop() {
    {
      std::lock_guard lk(mu_);
      if (stopped_) return;
      stopped_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
    // Requests posted after the loop's last drain: run them so that their waiters are registered,
    // then fail every waiter. Taken under the lock: a peer's sender thread may still be in Post().
    std::vector<std::function<void()>> ops;
    {
      std::lock_guard lk(mu_);
      ops.swap(ops_);
    }
    for (auto& op : ops) op();
    FailAll(ErrorCode::kStopped, "node stopped");
  }

  // --- Requests (loop thread) ---

  void DoPropose(std::string payload, Waiter<Applied> w) {
    const std::uint64_t seq = next_seq_++;
    if (auto r = raw_->Propose(Seal(options_.raft.id, seq, payload)); !r) {
      w.promise.set_value(common::Unexpected<Error>{r.error()});
      return;
    }
    proposals_.emplace(seq, std::move(w));
  }

  void DoReadIndex(Waiter<Index> w) {
    const std::uint64_t seq = next_seq_++;
    std::string ctx;
    wire::PutFixed(ctx, seq, 8);
    if (auto r = raw_->ReadIndex(std::move(ctx)); !r) {
      w.promise.set_value(common::Unexpected<Error>{r.error()});
      return;
    }
    reads_.emplace(seq, std::move(w));
  }

  void DoChangeMembership(const ConfChange& change, Waiter<Index> w) {
    if (auto r = raw_->ProposeConfChange(change); !r) {
      w.promise.set_value(common::Unexpected<Error>{r.error()});
      return;
    }
    // The leader appended the entry at the end of its log.
    conf_waiters_.emplace(raw_->GetStatus().last_index, std::make_pair(change, std::move(w)));
  }

  void DoTransfer(NodeId to, Waiter<void> w) { w.promise.set_value(raw_->TransferLeadership(to)); }

  RawNode& raw() { return *raw_; }

 private:
  void Run() {
    Clock::time_point next_tick = Clock::now() + options_.tick;
    for (;;) {
      std::vector<Message> inbox;
      std::vector<std::function<void()>> ops;
      {
        std::unique_lock lk(mu_);
        cv_.wait_until(lk, next_tick, [&] { return stopped_ || !inbox_.empty() || !ops_.empty(); });
        if (stopped_) return;
        inbox.swap(inbox_);
        ops.swap(ops_);
      }
      for (const Message& m : inbox) {
        if (auto r = raw_->Step(m); !r) {
          spdlog::debug("raft {}: dropped {} from {}: {}", options_.raft.id,
                        MessageTypeName(m.type), m.from, r.error().message);
        }
      }
      for (auto& op : ops) op();
      const auto now = Clock::now();
      if (now >= next_tick) {
        raw_->Tick();
        next_tick += options_.tick;
        if (next_tick < now) next_tick = now + options_.tick;  // after a stall: no burst of ticks
      }
      while (raw_->HasReady()) HandleReady();
      Expire(now);
      FailOnLeadershipChange();
      PublishStatus();
    }
  }

  // The loop of rawnode.h: persist, then send, then apply, then advance.
  void HandleReady() {
    Ready rd = raw_->GetReady();
    if (auto r = storage_->Persist(rd); !r) {
      // Unpersisted state must never be acknowledged; there is no safe way to continue.
      Fatal("raft " + std::to_string(options_.raft.id) + ": persisting failed: " + r.error().message);
    }
    if (!rd.messages.empty()) transport_.Send(std::move(rd.messages));
    if (rd.snapshot && !rd.snapshot->empty()) {
      // A snapshot the leader sent that this member cannot read: it must not go on without that
      // state, nor ask for it again forever.
      if (auto r = RestoreFrom(*rd.snapshot); !r) {
        Fatal("raft " + std::to_string(options_.raft.id) + ": cannot restore the snapshot at " +
              std::to_string(rd.snapshot->meta.index) + ": " + r.error().message);
      }
    }
    for (const Entry& e : rd.committed_entries) ApplyEntry(e);
    for (ReadState& rs : rd.read_states) {
      wire::Reader r(rs.context);
      auto it = reads_.find(r.Fixed(8));
      if (it == reads_.end()) continue;
      ready_reads_.emplace(rs.index, std::move(it->second));
      reads_.erase(it);
    }
    ServeReads();
    raw_->Advance();
    MaybeSnapshot();
  }

  Result<void> RestoreFrom(const Snapshot& snap) {
    if (auto r = sm_.Restore(snap.meta.index, snap.data); !r) return r;
    applied_ = snap.meta.index;
    applied_conf_ = snap.meta.conf;
    snapshot_index_ = snap.meta.index;
    return {};
  }

  void ApplyEntry(const Entry& e) {
    applied_ = e.index;
    if (e.type == EntryType::kConfChange) {
      auto ce = DecodeConfEntry(e.data);
      if (!ce) Fatal("raft: committed configuration entry unreadable: " + ce.error().message);
      applied_conf_ = ce->next;
      sm_.ApplyConf(e.index, *ce);
      ResolveConf(e.index, &ce->change);
      return;
    }
    ResolveConf(e.index, nullptr);  // a waiter at this index lost its entry to another leader's
    if (e.data.empty()) return;     // a new leader's no-op
    auto env = Open(e.data);
    if (!env) {
      // Every member skips it alike, so the replicas still agree.
      spdlog::warn("raft {}: entry {} has no proposer header; skipped", options_.raft.id, e.index);
      return;
    }
    ApplyResponse response = sm_.Apply(e.index, env->payload);
    if (env->proposer != options_.raft.id) return;
    if (auto it = proposals_.find(env->seq); it != proposals_.end()) {
      it->second.promise.set_value(Applied{e.index, std::move(response)});
      proposals_.erase(it);
    }
  }

  void ResolveConf(Index index, const ConfChange* applied) {
    auto it = conf_waiters_.find(index);
    if (it == conf_waiters_.end()) return;
    auto& [change, w] = it->second;
    if (applied && *applied == change) {
      w.promise.set_value(index);
    } else {
      w.promise.set_value(Fail(ErrorCode::kProposalDropped,
                               "the change was overwritten by another leader's entry"));
    }
    conf_waiters_.erase(it);
  }

  void ServeReads() {
    while (!ready_reads_.empty() && ready_reads_.begin()->first <= applied_) {
      ready_reads_.begin()->second.promise.set_value(applied_);
      ready_reads_.erase(ready_reads_.begin());
    }
  }

  void MaybeSnapshot() {
    if (applied_ < snapshot_index_ + options_.snapshot_every) return;
    // The snapshot records the configuration in effect at applied_, not the core's current one,
    // which may already include an appended but uncommitted change.
    if (auto r = storage_->create_snapshot(applied_, applied_conf_, sm_.Snapshot()); !r) {
      spdlog::warn("raft {}: snapshot at {} failed: {}", options_.raft.id, applied_,
                   r.error().message);
      return;
    }
    snapshot_index_ = applied_;
    if (applied_ > options_.compaction_margin) {
      const Index to = applied_ - options_.compaction_margin;
      if (to >= storage_->first_index()) {
        if (auto r = storage_->compact(to); !r) {
          spdlog::warn("raft {}: compaction to {} failed: {}", options_.raft.id, to,
                       r.error().message);
        }
      }
    }
  }

  template <class Map>
  static void ExpireIn(Map& waiters, Clock::time_point now) {
    for (auto it = waiters.begin(); it != waiters.end();) {
      auto& w = Get(it->second);
      if (w.deadline > now) {
        ++it;
        continue;
      }
      w.promise.set_value(Fail(ErrorCode::kTimeout, "no outcome within the request timeout; "
                                                    "the request may still take effect"));
      it = waiters.erase(it);
    }
  }
  template <class T>
  static Waiter<T>& Get(Waiter<T>& w) { return w; }
  static Waiter<Index>& Get(std::pair<ConfChange, Waiter<Index>>& p) { return p.second; }

  void Expire(Clock::time_point now) {
    ExpireIn(proposals_, now);
    ExpireIn(reads_, now);
    ExpireIn(ready_reads_, now);
    ExpireIn(conf_waiters_, now);
  }

  // A proposal or read forwarded to a leader that lost its leadership is most likely gone with it;
  // waiting out the request timeout would only delay the client's retry. The same holds for this
  // member's own proposals when it steps down as leader within its term (check-quorum: it lost
  // touch with a majority). The outcome stays unknown (a majority may hold the entry and the next
  // leader commit it), hence kTimeout.
  void FailOnLeadershipChange() {
    const Term term = raw_->raft().term();
    const bool leader = raw_->raft().role() == Role::kLeader;
    const bool stepped_down = was_leader_ && !leader;
    was_leader_ = leader;
    if (term == last_term_ && !stepped_down) return;
    last_term_ = term;
    const std::string why = std::string(stepped_down ? "this member stopped leading" : "a new term began") +
                            " before the request completed; it may still take effect";
    FailEach(proposals_, ErrorCode::kTimeout, why);
    FailEach(reads_, ErrorCode::kTimeout, why);
  }

  void FailAll(ErrorCode code, const std::string& why) {
    FailEach(proposals_, code, why);
    FailEach(reads_, code, why);
    FailEach(ready_reads_, code, why);
    FailEach(conf_waiters_, code, why);
  }

  template <class Map>
  static void FailEach(Map& waiters, ErrorCode code, const std::string& why) {
    for (auto& [k, v] : waiters) Get(v).promise.set_value(Fail(code, why));
    waiters.clear();
  }

  void PublishStatus() {
    const raft::Status st = raw_->GetStatus();
    NodeStatus s;
    s.id = st.id;
    s.role = st.soft_state.role;
    s.term = st.hard_state.term;
    s.leader = st.soft_state.leader;
    s.commit = st.hard_state.commit;
    s.applied = applied_;
    s.last_index = st.last_index;
    s.snapshot_index = snapshot_index_;
    s.conf = st.conf;
    s.transferee = st.lead_transferee;
    for (const auto& [id, pr] : st.progress) {
      if (id == st.id) continue;
      const auto ticks = static_cast<std::chrono::milliseconds::rep>(pr.ticks_since_contact);
      s.peers.push_back({id, pr.match, pr.next, pr.recent_active, options_.tick * ticks});
    }
    std::lock_guard lk(status_mu_);
    status_ = std::move(s);
  }

  const NodeOptions options_;
  std::unique_ptr<RocksStorage> storage_;
  StateMachine& sm_;
  Transport& transport_;
  SpdlogBridge logger_;
  std::unique_ptr<RawNode> raw_;
  std::thread thread_;

  std::mutex mu_;  // guards the inbox
  std::condition_variable cv_;
  std::vector<Message> inbox_;
  std::vector<std::function<void()>> ops_;
  bool stopped_ = false;

  mutable std::mutex status_mu_;
  NodeStatus status_;

  // Loop-thread state.
  Index applied_ = 0;
  Index snapshot_index_ = 0;
  ConfState applied_conf_;  // as of applied_ (every log starts with a configuration entry)
  std::uint64_t next_seq_ = 1;
  Term last_term_ = 0;
  bool was_leader_ = false;
  std::map<std::uint64_t, Waiter<Applied>> proposals_;  // by sequence number
  std::map<std::uint64_t, Waiter<Index>> reads_;      // read-index issued, no answer yet
  std::multimap<Index, Waiter<Index>> ready_reads_;   // answered; wait for applied >= index
  std::map<Index, std::pair<ConfChange, Waiter<Index>>> conf_waiters_;  // by log index
};

Result<std::unique_ptr<Node>> Node::Start(NodeOptions options,
                                          std::unique_ptr<RocksStorage> storage,
                                          StateMachine& state_machine, Transport& transport) {
  auto loop = std::make_unique<Loop>(std::move(options), std::move(storage), state_machine,
                                     transport);
  if (auto r = loop->Init(); !r) return common::Unexpected<Error>{r.error()};
  return std::unique_ptr<Node>(new Node(std::move(loop)));
}

Node::Node(std::unique_ptr<Loop> loop) : loop_(std::move(loop)) {}
Node::~Node() { Stop(); }

std::future<Result<Applied>> Node::Propose(std::string payload) {
  return loop_->Request<Applied>([payload = std::move(payload)](Loop& l, Waiter<Applied> w) mutable {
    l.DoPropose(std::move(payload), std::move(w));
  });
}

std::future<Result<Index>> Node::ReadIndex() {
  return loop_->Request<Index>([](Loop& l, Waiter<Index> w) { l.DoReadIndex(std::move(w)); });
}

std::future<Result<Index>> Node::ChangeMembership(ConfChange change) {
  return loop_->Request<Index>([change = std::move(change)](Loop& l, Waiter<Index> w) {
    l.DoChangeMembership(change, std::move(w));
  });
}

std::future<Result<void>> Node::TransferLeadership(NodeId to) {
  return loop_->Request<void>([to](Loop& l, Waiter<void> w) { l.DoTransfer(to, std::move(w)); });
}

void Node::Receive(std::vector<Message> messages) { loop_->Receive(std::move(messages)); }

void Node::ReportUnreachable(NodeId peer) {
  loop_->Post([l = loop_.get(), peer] { l->raw().ReportUnreachable(peer); });
}

void Node::ReportSnapshot(NodeId peer, bool ok) {
  loop_->Post([l = loop_.get(), peer, ok] { l->raw().ReportSnapshot(peer, ok); });
}

NodeStatus Node::Status() const { return loop_->Status(); }

void Node::Stop() { loop_->Stop(); }

}  // namespace raft
