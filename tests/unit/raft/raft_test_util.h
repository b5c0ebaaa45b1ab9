// Helpers for the Raft unit tests: a node over MemoryStorage, and a tiny synchronous network that
// persists each Ready before delivering its messages (the rule the real caller follows).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "worker/raft/confchange.h"
#include "worker/raft/raft.h"
#include "worker/raft/rawnode.h"
#include "worker/raft/storage.h"

namespace raft::testing {

inline ConfState Voters(std::vector<NodeId> v, std::vector<NodeId> l = {}) {
  std::sort(v.begin(), v.end());
  std::sort(l.begin(), l.end());
  return ConfState{v, l};
}

// Storage whose initial configuration is `cs` (a snapshot at index 0 carrying it), like a
// freshly bootstrapped cluster without the bootstrap entry.
inline std::unique_ptr<MemoryStorage> NewStorage(const ConfState& cs) {
  auto s = std::make_unique<MemoryStorage>();
  Snapshot snap;
  snap.meta.conf = cs;
  EXPECT_TRUE(s->apply_snapshot(std::move(snap)).has_value());
  return s;
}

inline Config TestConfig(NodeId id, int election = 10, int heartbeat = 1) {
  Config c;
  c.id = id;
  c.election_tick = election;
  c.heartbeat_tick = heartbeat;
  c.pre_vote = false;
  c.check_quorum = false;
  c.max_size_per_msg = UINT64_MAX;
  c.max_inflight_msgs = 256;
  c.random_seed = 42;
  return c;
}

inline std::unique_ptr<Raft> NewRaft(const Config& c, const Storage* s) {
  auto r = Raft::Create(c, s);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
  return std::move(*r);
}

// Persist what the node has not yet persisted, as the caller of a Ready would.
inline void Persist(Raft& r, MemoryStorage& s) {
  Index snap = 0;
  if (r.log().unstable_snapshot()) {
    snap = r.log().unstable_snapshot()->meta.index;
    ASSERT_TRUE(s.apply_snapshot(*r.log().unstable_snapshot()).has_value());
  }
  auto ents = r.log().unstable_entries();
  if (!ents.empty()) {
    ASSERT_TRUE(s.append(ents).has_value());
  }
  s.set_hard_state(r.hard_state());
  r.on_persisted(ents.empty() ? 0 : ents.back().index, ents.empty() ? 0 : ents.back().term, snap);
}

inline std::vector<Message> Filter(const std::vector<Message>& ms, MessageType t) {
  std::vector<Message> out;
  for (const auto& m : ms) {
    if (m.type == t) out.push_back(m);
  }
  return out;
}

inline Message Msg(MessageType t, NodeId from, NodeId to, Term term) {
  Message m;
  m.type = t;
  m.from = from;
  m.to = to;
  m.term = term;
  return m;
}

inline Entry E(Index i, Term t, std::string data = "") {
  return Entry{t, i, EntryType::kNormal, std::move(data)};
}

// A cluster of RawNodes connected by a synchronous, filterable network.
class Network {
 public:
  struct Node {
    std::unique_ptr<MemoryStorage> storage;
    std::unique_ptr<RawNode> node;
    std::vector<Entry> applied;
    std::vector<ReadState> reads;
    bool down = false;
  };

  Network() = default;
  // Nodes 1..n, all voters.
  explicit Network(int n, std::function<void(Config&)> tweak = {}) {
    std::vector<NodeId> ids;
    for (int i = 1; i <= n; ++i) ids.push_back(static_cast<NodeId>(i));
    for (NodeId id : ids) Add(id, Voters(ids), tweak);
  }

  void Add(NodeId id, const ConfState& cs, const std::function<void(Config&)>& tweak = {}) {
    Node n;
    n.storage = NewStorage(cs);
    Config c = TestConfig(id);
    c.random_seed = 1000 + id;
    if (tweak) tweak(c);
    tweaks_[id] = tweak;
    auto rn = RawNode::Create(c, n.storage.get());
    ASSERT_TRUE(rn.has_value());
    n.node = std::move(*rn);
    nodes_[id] = std::move(n);
  }

  // A node with empty storage (joining an existing cluster).
  void AddEmpty(NodeId id) { Add(id, ConfState{}, tweaks_.empty() ? nullptr : tweaks_.begin()->second); }

  // Restart from durable state (storage survives; volatile state is lost).
  void Restart(NodeId id) {
    Node& n = nodes_.at(id);
    Config c = TestConfig(id);
    c.random_seed = 2000 + id;
    if (tweaks_[id]) tweaks_[id](c);
    auto rn = RawNode::Create(c, n.storage.get());
    ASSERT_TRUE(rn.has_value()) << rn.error().message;
    n.node = std::move(*rn);
    n.applied.clear();
  }

  RawNode& node(NodeId id) { return *nodes_.at(id).node; }
  Raft& raft(NodeId id) { return nodes_.at(id).node->mutable_raft(); }
  Node& at(NodeId id) { return nodes_.at(id); }

  void Cut(NodeId a, NodeId b) {
    cut_.insert({a, b});
    cut_.insert({b, a});
  }
  void Isolate(NodeId a) {
    for (auto& [id, n] : nodes_) {
      if (id != a) Cut(a, id);
    }
  }
  void Heal() {
    cut_.clear();
    drop_types_.clear();
  }
  void DropType(MessageType t) { drop_types_.insert(t); }

  // Process every Ready and deliver every message until nothing moves.
  void Settle(int max_rounds = 1000) {
    for (int round = 0; round < max_rounds; ++round) {
      bool moved = false;
      for (auto& [id, n] : nodes_) {
        if (n.down || !n.node->HasReady()) continue;
        moved = true;
        Ready rd = n.node->GetReady();
        if (rd.snapshot) {
          ASSERT_TRUE(n.storage->apply_snapshot(*rd.snapshot).has_value());
          n.applied = DecodeState(rd.snapshot->data);
        }
        if (!rd.entries.empty()) {
          ASSERT_TRUE(n.storage->append(rd.entries).has_value());
        }
        if (rd.hard_state) n.storage->set_hard_state(*rd.hard_state);
        for (auto& m : rd.messages) queue_.push_back(std::move(m));  // after persisting
        for (auto& e : rd.committed_entries) n.applied.push_back(e);
        for (auto& r : rd.read_states) n.reads.push_back(r);
        n.node->Advance();
      }
      while (!queue_.empty()) {
        Message m = std::move(queue_.front());
        queue_.pop_front();
        moved = true;
        if (cut_.count({m.from, m.to}) || drop_types_.count(m.type)) continue;
        auto it = nodes_.find(m.to);
        if (it == nodes_.end() || it->second.down) continue;
        sent_.push_back(m);
        (void)it->second.node->Step(m);
      }
      if (!moved) return;
    }
    FAIL() << "network did not settle";
  }

  // The application snapshots its state at its applied index and compacts the log there.
  void Compact(NodeId id) {
    Node& n = nodes_.at(id);
    const Index at = n.node->raft().log().applied();
    ASSERT_TRUE(n.storage->create_snapshot(at, n.node->raft().conf(), EncodeState(n.applied)).has_value());
    ASSERT_TRUE(n.storage->compact(at).has_value());
  }

  static std::string EncodeState(const std::vector<Entry>& applied) {
    std::string out;
    for (const auto& e : applied) {
      out += std::to_string(e.index) + "," + std::to_string(e.term) + "," +
             std::to_string(static_cast<int>(e.type)) + "," + e.data + "\n";
    }
    return out;
  }
  static std::vector<Entry> DecodeState(const std::string& s) {
    std::vector<Entry> out;
    std::size_t pos = 0;
    while (pos < s.size()) {
      std::size_t nl = s.find('\n', pos);
      std::string line = s.substr(pos, nl - pos);
      pos = nl + 1;
      Entry e;
      std::size_t a = line.find(','), b = line.find(',', a + 1), c = line.find(',', b + 1);
      e.index = std::stoull(line.substr(0, a));
      e.term = std::stoull(line.substr(a + 1, b - a - 1));
      e.type = static_cast<EntryType>(std::stoi(line.substr(b + 1, c - b - 1)));
      e.data = line.substr(c + 1);
      out.push_back(std::move(e));
    }
    return out;
  }

  void TickAll(int n = 1) {
    for (int i = 0; i < n; ++i) {
      for (auto& [id, nd] : nodes_) {
        if (!nd.down) nd.node->Tick();
      }
      Settle();
    }
  }

  // Elect `id` by letting its election timer fire (no pre-vote shortcut needed).
  void Elect(NodeId id) {
    node(id).Campaign();
    Settle();
  }

  NodeId Leader() {
    NodeId lead = kNone;
    for (auto& [id, n] : nodes_) {
      if (!n.down && n.node->raft().role() == Role::kLeader) {
        if (lead == kNone || n.node->raft().term() > raft(lead).term()) lead = id;
      }
    }
    return lead;
  }

  std::vector<std::string> AppliedData(NodeId id) {
    std::vector<std::string> out;
    for (const auto& e : nodes_.at(id).applied) {
      if (e.type == EntryType::kNormal && !e.data.empty()) out.push_back(e.data);
    }
    return out;
  }

  std::vector<Message>& sent() { return sent_; }
  std::map<NodeId, Node>& nodes() { return nodes_; }

 private:
  std::map<NodeId, Node> nodes_;
  std::map<NodeId, std::function<void(Config&)>> tweaks_;
  std::deque<Message> queue_;
  std::set<std::pair<NodeId, NodeId>> cut_;
  std::set<MessageType> drop_types_;
  std::vector<Message> sent_;
};

}  // namespace raft::testing
