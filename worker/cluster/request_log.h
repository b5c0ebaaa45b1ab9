// RequestLog: the replicated memory of which writes were already applied, so that a write
// proposed more than once takes effect once. Every write carries a request key (command.h): one
// the member draws for each client request, which it proposes again, unchanged, when a leader
// change leaves the first proposal's fate unknown; or the client's own Idempotency-Key, when
// the client retries. The first entry with a key is applied and its outcome recorded here; a
// later entry with the same key is skipped and answers that outcome again. The index of that first
// entry is kept too: it is where the request took effect, whichever of its entries the proposer
// heard back from.
//
// A key comes with a digest of the request it was made for: the same key with another digest is
// a client bug (one key reused for two requests) and is refused (kKeyReused), never applied.
//
// Bounded: the newest kCapacity keys are kept, the oldest forgotten first. That covers any retry
// made within the request timeout at thousands of writes a second; a client that retries much
// later may see its write applied twice. Part of every snapshot, like the other sections, so a
// restarted or newly joined member remembers the same keys.
#pragma once

#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "worker/cluster/command.h"
#include "worker/cluster/state_section.h"

namespace cluster {

class RequestLog final : public StateSection {
 public:
  static constexpr std::size_t kCapacity = 10'000;

  std::string_view name() const override { return "requests"; }
  bool Owns(std::string_view) const override { return false; }  // consulted for every command
  Outcome Apply(raft::Index, const Command&) override { return {}; }
  std::string Snapshot() const override;
  void Restore(std::string_view data) override;

  // What the first entry with this key answered, or kKeyReused when it was made for another
  // request; nullopt for a key not seen (or already forgotten).
  std::optional<Outcome> Seen(const RequestKey& request) const;
  void Record(const RequestKey& request, const Outcome& outcome, raft::Index index);
  // The index of the first entry with this key (0: not seen, forgotten, or restored from a
  // snapshot taken before indexes were kept).
  raft::Index FirstIndex(const RequestKey& request) const;

  std::size_t size() const;

 private:
  struct Entry {
    std::string digest;
    std::optional<std::string> refused;  // why the first entry was skipped; nullopt: applied
    raft::Index index = 0;               // the first entry's
  };
  void Insert(std::string key, Entry entry);  // mu_ held

  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  std::deque<std::string> order_;  // oldest first
};

}  // namespace cluster
