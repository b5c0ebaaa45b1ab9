// RocksStorage: the durable raft::Storage, one RocksDB database per node (directory owned by it).
//
// Layout (default column family, one-byte key prefixes; every value ends with a CRC32 of
// key + body, on top of RocksDB's own block checksums):
//   "v"               format version (kFormatVersion)
//   "h"               hard state: term, vote, commit
//   "a"               log anchor: (index, term) of the entry just before the first stored one
//   "s" / "d"         snapshot metadata (index, term, ConfState) / snapshot data
//   "e" + index(BE)   one log entry; big-endian so that iteration follows the log
//
// Invariants (checked by Open, kept by every write):
//   entries anchor+1 .. last are all present, each holding the index of its key, with terms
//   non-decreasing from the anchor's; anchor <= snapshot index <= last, and the snapshot's term
//   is the log's term at its index; hard state commit <= last.
// Open refuses (kCorruptState, message naming the directory) anything that breaks them, or any
// checksum mismatch: a node must not start on torn or corrupted state and risk Raft's safety.
//
// THE SYNC RULE: every write method commits ONE rocksdb::WriteBatch, synced (WAL fsync) when
// Options::sync is set (for Persist: and the Ready says must_sync), and returns only after that.
// A caller sends the messages of a Ready (votes, append acknowledgements) only after
// Persist(ready) has returned success — see rawnode.h.
// Options::sync = false is for benchmarks and tests only: a machine crash loses acknowledged
// writes.
//
// Reads use an in-memory cache of the hard state, snapshot metadata, anchor and last (index,
// term); entries and snapshot data are read from RocksDB. Not thread-safe: the caller serialises,
// as with the core itself. On a failed write the cache is unchanged and nothing was written.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "worker/raft/rawnode.h"
#include "worker/raft/storage.h"
#include "worker/raft/types.h"

namespace rocksdb {
class DB;
}

namespace raft {

class RocksStorage final : public Storage {
 public:
  static constexpr std::uint32_t kFormatVersion = 1;

  struct Options {
    bool sync = true;  // fsync the WAL on every write; see THE SYNC RULE above
  };

  // Opens (creating if missing) the database in `dir` and verifies all of it.
  static Result<std::unique_ptr<RocksStorage>> Open(const std::string& dir, Options options);
  static Result<std::unique_ptr<RocksStorage>> Open(const std::string& dir) {
    return Open(dir, Options{});
  }
  ~RocksStorage() override;

  HardState hard_state() const override { return state_.hs; }
  Result<std::vector<Entry>> entries(Index lo, Index hi, std::uint64_t max_bytes) const override;
  Result<Term> term(Index i) const override;
  Index first_index() const override { return state_.anchor_index + 1; }
  Index last_index() const override { return state_.last_index; }
  Result<Snapshot> snapshot() const override;

  // --- Writes. Each is one atomic, (optionally) synced batch. ---

  // Persists a Ready's durable parts in one batch: snapshot, then entries, then hard state.
  // Synced when Options::sync and rd.must_sync.
  Result<void> Persist(const Ready& rd);

  // Same semantics as MemoryStorage's methods of the same names (storage.h).
  Result<void> set_hard_state(const HardState& hs);
  Result<void> apply_snapshot(const Snapshot& snap);
  Result<void> append(const std::vector<Entry>& ents);
  Result<void> create_snapshot(Index i, const ConfState& conf, const std::string& data);
  Result<void> compact(Index compact_index);

  const std::string& dir() const { return dir_; }

 private:
  // Everything the cache holds; a write stages a copy and installs it only once the batch is
  // durable.
  struct State {
    HardState hs;
    SnapshotMeta snap;
    Index anchor_index = 0;
    Term anchor_term = 0;
    Index last_index = 0;
    Term last_term = 0;
  };
  class Txn;

  RocksStorage(std::string dir, Options options, std::unique_ptr<rocksdb::DB> db);
  Result<void> Verify();
  Error Corrupt(const std::string& what) const;

  const std::string dir_;
  const Options options_;
  std::unique_ptr<rocksdb::DB> db_;
  State state_;
};

}  // namespace raft
