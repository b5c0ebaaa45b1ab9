#include "worker/raft/rocksdb/rocks_storage.h"

#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>
#include <zlib.h>

#include <filesystem>
#include <optional>
#include <string_view>
#include <utility>

#include "worker/raft/message.h"
#include "worker/raft/wire.h"

namespace raft {
namespace {

using wire::PutFixed;

constexpr std::string_view kVersionKey = "v";
constexpr std::string_view kHardStateKey = "h";
constexpr std::string_view kAnchorKey = "a";
constexpr std::string_view kSnapMetaKey = "s";
constexpr std::string_view kSnapDataKey = "d";
constexpr char kEntryPrefix = 'e';
constexpr std::size_t kEntryKeySize = 9;

std::string EntryKey(Index i) {
  std::string k(kEntryKeySize, '\0');
  k[0] = kEntryPrefix;
  for (int b = 0; b < 8; ++b) k[static_cast<std::size_t>(8 - b)] = static_cast<char>(i >> (8 * b));
  return k;
}

Index EntryKeyIndex(std::string_view k) {
  Index i = 0;
  for (std::size_t b = 1; b < kEntryKeySize; ++b) i = (i << 8) | static_cast<std::uint8_t>(k[b]);
  return i;
}

std::uint32_t Crc(std::string_view key, std::string_view body) {
  uLong c = crc32(0L, Z_NULL, 0);
  c = crc32(c, reinterpret_cast<const Bytef*>(key.data()), static_cast<uInt>(key.size()));
  c = crc32(c, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()));
  return static_cast<std::uint32_t>(c);
}

// value = body + CRC32(key + body). The key is in the checksum so that a value found under the
// wrong key (e.g. a misdirected write) does not pass as valid.
std::string Seal(std::string_view key, std::string body) {
  const std::uint32_t c = Crc(key, body);
  PutFixed(body, c, 4);
  return body;
}

// The body of a sealed value, or nullopt if it is too short or its checksum does not match.
std::optional<std::string_view> Unseal(std::string_view key, std::string_view value) {
  if (value.size() < 4) return std::nullopt;
  const std::string_view body = value.substr(0, value.size() - 4);
  wire::Reader r(value.substr(value.size() - 4));
  if (r.Fixed(4) != Crc(key, body)) return std::nullopt;
  return body;
}

std::string EncodeEntry(const Entry& e) {
  std::string b;
  PutFixed(b, e.term, 8);
  PutFixed(b, e.index, 8);
  PutFixed(b, static_cast<std::uint8_t>(e.type), 1);
  b += e.data;
  return Seal(EntryKey(e.index), std::move(b));
}

std::optional<Entry> DecodeEntry(std::string_view key, std::string_view value) {
  auto body = Unseal(key, value);
  if (!body) return std::nullopt;
  wire::Reader r(*body);
  Entry e;
  e.term = r.Fixed(8);
  e.index = r.Fixed(8);
  const auto type = r.Fixed(1);
  e.data = std::string(r.Rest());
  if (type > static_cast<std::uint8_t>(EntryType::kConfChange)) return std::nullopt;
  e.type = static_cast<EntryType>(type);
  return e;
}

std::string EncodeHardState(const HardState& hs) {
  std::string b;
  PutFixed(b, hs.term, 8);
  PutFixed(b, hs.vote, 8);
  PutFixed(b, hs.commit, 8);
  return Seal(kHardStateKey, std::move(b));
}

std::optional<HardState> DecodeHardState(std::string_view value) {
  auto body = Unseal(kHardStateKey, value);
  if (!body) return std::nullopt;
  wire::Reader r(*body);
  HardState hs;
  hs.term = r.Fixed(8);
  hs.vote = r.Fixed(8);
  hs.commit = r.Fixed(8);
  if (!r.done()) return std::nullopt;
  return hs;
}

std::string EncodeAnchor(Index i, Term t) {
  std::string b;
  PutFixed(b, i, 8);
  PutFixed(b, t, 8);
  return Seal(kAnchorKey, std::move(b));
}

std::string EncodeSnapMeta(const SnapshotMeta& m) {
  std::string b;
  PutFixed(b, m.index, 8);
  PutFixed(b, m.term, 8);
  wire::PutIds(b, m.conf.voters);
  wire::PutIds(b, m.conf.learners);
  return Seal(kSnapMetaKey, std::move(b));
}

std::optional<SnapshotMeta> DecodeSnapMeta(std::string_view value) {
  auto body = Unseal(kSnapMetaKey, value);
  if (!body) return std::nullopt;
  wire::Reader r(*body);
  SnapshotMeta m;
  m.index = r.Fixed(8);
  m.term = r.Fixed(8);
  m.conf.voters = r.Ids();
  m.conf.learners = r.Ids();
  if (!r.done()) return std::nullopt;
  return m;
}

std::string EncodeVersion() {
  std::string b;
  PutFixed(b, RocksStorage::kFormatVersion, 4);
  return Seal(kVersionKey, std::move(b));
}

rocksdb::Slice S(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

rocksdb::ReadOptions ReadOpts() {
  rocksdb::ReadOptions ro;
  ro.verify_checksums = true;
  return ro;
}

}  // namespace

// Stages writes into one WriteBatch and a copy of the cached state; Commit writes the batch and
// installs the state. Each step validates against the state staged so far, so a multi-part batch
// (Persist) sees the log as its earlier parts left it.
class RocksStorage::Txn {
 public:
  explicit Txn(RocksStorage& s) : s_(s), st_(s.state_) {}

  Result<void> SetHardState(const HardState& hs) {
    st_.hs = hs;
    hs_dirty_ = true;
    return {};
  }

  Result<void> ApplySnapshot(const Snapshot& snap) {
    if (snap.meta.index < st_.snap.index) {
      return Fail(ErrorCode::kCompacted, "apply_snapshot(" + std::to_string(snap.meta.index) +
                                             "): older than the current snapshot at " +
                                             std::to_string(st_.snap.index));
    }
    DeleteEntries(st_.anchor_index, st_.last_index + 1);
    st_.snap = snap.meta;
    st_.anchor_index = st_.last_index = snap.meta.index;
    st_.anchor_term = st_.last_term = snap.meta.term;
    batch_.Put(S(kSnapMetaKey), EncodeSnapMeta(snap.meta));
    batch_.Put(S(kSnapDataKey), Seal(kSnapDataKey, snap.data));
    batch_.Put(S(kAnchorKey), EncodeAnchor(st_.anchor_index, st_.anchor_term));
    return {};
  }

  Result<void> Append(const std::vector<Entry>& ents) {
    if (ents.empty()) return {};
    for (std::size_t k = 1; k < ents.size(); ++k) {
      if (ents[k].index != ents[0].index + k) {
        return Fail(ErrorCode::kUnavailable, "append: entries not contiguous at index " +
                                                 std::to_string(ents[k].index));
      }
    }
    const Index first = st_.anchor_index + 1;
    if (ents.back().index < first) return {};  // all compacted (so committed and equal)
    if (ents.front().index > st_.last_index + 1) {
      return Fail(ErrorCode::kUnavailable, "append: gap, first new index " +
                                               std::to_string(ents.front().index) +
                                               " after last index " +
                                               std::to_string(st_.last_index));
    }
    const std::size_t skip = ents.front().index < first ? first - ents.front().index : 0;
    // Truncate the conflicting or overwritten suffix, then write the new entries.
    DeleteEntries(ents[skip].index, st_.last_index + 1);
    for (std::size_t k = skip; k < ents.size(); ++k) {
      batch_.Put(EntryKey(ents[k].index), EncodeEntry(ents[k]));
    }
    st_.last_index = ents.back().index;
    st_.last_term = ents.back().term;
    return {};
  }

  Result<void> CreateSnapshot(Index i, const ConfState& conf, const std::string& data) {
    if (i <= st_.snap.index) {
      return Fail(ErrorCode::kCompacted, "create_snapshot(" + std::to_string(i) +
                                             "): not newer than snapshot at " +
                                             std::to_string(st_.snap.index));
    }
    auto t = s_.term(i);  // a standalone step: the database holds the staged log
    if (!t) return Fail(t.error().code, "create_snapshot: " + t.error().message);
    st_.snap = SnapshotMeta{i, *t, conf};
    batch_.Put(S(kSnapMetaKey), EncodeSnapMeta(st_.snap));
    batch_.Put(S(kSnapDataKey), Seal(kSnapDataKey, data));
    return {};
  }

  Result<void> Compact(Index ci) {
    if (ci <= st_.anchor_index) return {};  // idempotent
    if (ci > st_.last_index) {
      return Fail(ErrorCode::kUnavailable, "compact(" + std::to_string(ci) +
                                               "): beyond last index " +
                                               std::to_string(st_.last_index));
    }
    if (ci > st_.snap.index) {
      // Discarding entries no snapshot covers would lose committed state for good.
      return Fail(ErrorCode::kUnavailable, "compact(" + std::to_string(ci) +
                                               "): beyond the snapshot at " +
                                               std::to_string(st_.snap.index));
    }
    auto t = s_.term(ci);
    if (!t) return Fail(t.error().code, "compact: " + t.error().message);
    DeleteEntries(st_.anchor_index, ci + 1);
    st_.anchor_index = ci;
    st_.anchor_term = *t;
    batch_.Put(S(kAnchorKey), EncodeAnchor(ci, *t));
    return {};
  }

  Result<void> Commit(bool sync) {
    // The one cross-record invariant a caller could break: a commit index the log does not
    // contain would make the next Open refuse to start, so refuse it now instead.
    if (st_.hs.commit > st_.last_index) {
      return Fail(ErrorCode::kUnavailable, "hard state commit " + std::to_string(st_.hs.commit) +
                                               " beyond last index " +
                                               std::to_string(st_.last_index));
    }
    if (hs_dirty_) batch_.Put(S(kHardStateKey), EncodeHardState(st_.hs));
    if (batch_.Count() == 0) return {};
    rocksdb::WriteOptions wo;
    wo.sync = sync;
    const rocksdb::Status st = s_.db_->Write(wo, &batch_);
    if (!st.ok()) {
      return Fail(ErrorCode::kCorruptState,
                  "raft storage " + s_.dir_ + ": write failed: " + st.ToString());
    }
    s_.state_ = st_;
    return {};
  }

 private:
  void DeleteEntries(Index lo, Index hi) {
    if (lo < hi) batch_.DeleteRange(EntryKey(lo), EntryKey(hi));
  }

  RocksStorage& s_;
  State st_;
  rocksdb::WriteBatch batch_;
  bool hs_dirty_ = false;
};

RocksStorage::RocksStorage(std::string dir, Options options, std::unique_ptr<rocksdb::DB> db)
    : dir_(std::move(dir)), options_(options), db_(std::move(db)) {}

RocksStorage::~RocksStorage() = default;

Error RocksStorage::Corrupt(const std::string& what) const {
  return Error{ErrorCode::kCorruptState,
               "raft storage " + dir_ + ": " + what + "; refusing to start"};
}

Result<std::unique_ptr<RocksStorage>> RocksStorage::Open(const std::string& dir,
                                                         Options options) {
  rocksdb::Options o;
  o.create_if_missing = true;
  // Fail on any inconsistency RocksDB itself detects rather than skipping data. In the WAL only
  // an incomplete *last* record is tolerated: a crash can tear only the write in progress, which
  // was never synced nor acknowledged. (Point-in-time recovery, RocksDB's default, would instead
  // stop replay silently at a damaged record in the middle and drop the synced, acknowledged
  // writes after it — a node could then forget a vote or entries it had promised.)
  o.paranoid_checks = true;
  o.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  // RocksDB creates the last path component only; a fresh member's --data-dir may be deeper.
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return Fail(ErrorCode::kCorruptState, "raft storage " + dir + ": cannot create: " + ec.message());
  }
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status st = rocksdb::DB::Open(o, dir, &raw);
  if (!st.ok()) {
    return Fail(ErrorCode::kCorruptState,
                "raft storage " + dir + ": cannot open: " + st.ToString());
  }
  std::unique_ptr<RocksStorage> s(
      new RocksStorage(dir, options, std::unique_ptr<rocksdb::DB>(raw)));
  if (auto v = s->Verify(); !v) return common::Unexpected<Error>{v.error()};
  return s;
}

// Loads the cache and checks every record and invariant listed in the header.
Result<void> RocksStorage::Verify() {
  std::string v;
  rocksdb::Status st = db_->Get(ReadOpts(), S(kVersionKey), &v);
  if (st.IsNotFound()) {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ReadOpts()));
    it->SeekToFirst();
    if (it->Valid()) return common::Unexpected<Error>{Corrupt("format version record missing")};
    if (!it->status().ok()) return common::Unexpected<Error>{Corrupt(it->status().ToString())};
    // A new database: write the empty state, so later opens always find every record.
    rocksdb::WriteBatch b;
    b.Put(S(kVersionKey), EncodeVersion());
    b.Put(S(kHardStateKey), EncodeHardState({}));
    b.Put(S(kAnchorKey), EncodeAnchor(0, 0));
    b.Put(S(kSnapMetaKey), EncodeSnapMeta({}));
    b.Put(S(kSnapDataKey), Seal(kSnapDataKey, {}));
    rocksdb::WriteOptions wo;
    wo.sync = options_.sync;
    st = db_->Write(wo, &b);
    if (!st.ok()) return common::Unexpected<Error>{Corrupt("initial write: " + st.ToString())};
    state_ = State{};
    return {};
  }
  if (!st.ok()) return common::Unexpected<Error>{Corrupt("reading version: " + st.ToString())};
  auto vb = Unseal(kVersionKey, v);
  if (!vb) return common::Unexpected<Error>{Corrupt("format version record checksum mismatch")};
  wire::Reader vr(*vb);
  const auto version = vr.Fixed(4);
  if (!vr.done() || version != kFormatVersion) {
    return common::Unexpected<Error>{Corrupt("unsupported format version " +
                                             std::to_string(version) + " (expected " +
                                             std::to_string(kFormatVersion) + ")")};
  }

  State s;
  std::string val;
  auto get = [&](std::string_view key, const char* what) -> Result<void> {
    const rocksdb::Status gs = db_->Get(ReadOpts(), S(key), &val);
    if (gs.ok()) return {};
    return common::Unexpected<Error>{Corrupt(std::string(what) + " record: " + gs.ToString())};
  };
  if (auto r = get(kHardStateKey, "hard state"); !r) return r;
  auto hs = DecodeHardState(val);
  if (!hs) return common::Unexpected<Error>{Corrupt("hard state checksum mismatch")};
  s.hs = *hs;
  if (auto r = get(kAnchorKey, "log anchor"); !r) return r;
  {
    auto body = Unseal(kAnchorKey, val);
    if (!body) return common::Unexpected<Error>{Corrupt("log anchor checksum mismatch")};
    wire::Reader r(*body);
    s.anchor_index = r.Fixed(8);
    s.anchor_term = r.Fixed(8);
    if (!r.done()) return common::Unexpected<Error>{Corrupt("log anchor malformed")};
  }
  if (auto r = get(kSnapMetaKey, "snapshot metadata"); !r) return r;
  auto meta = DecodeSnapMeta(val);
  if (!meta) return common::Unexpected<Error>{Corrupt("snapshot metadata checksum mismatch")};
  s.snap = *meta;
  if (auto r = get(kSnapDataKey, "snapshot data"); !r) return r;
  if (!Unseal(kSnapDataKey, val)) {
    return common::Unexpected<Error>{Corrupt("snapshot data checksum mismatch")};
  }

  // Every key must be one of ours, and the entries must form the log anchor+1 .. last.
  s.last_index = s.anchor_index;
  s.last_term = s.anchor_term;
  std::optional<Term> snap_entry_term;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ReadOpts()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view key(it->key().data(), it->key().size());
    if (key == kVersionKey || key == kHardStateKey || key == kAnchorKey || key == kSnapMetaKey ||
        key == kSnapDataKey) {
      continue;
    }
    if (key.size() != kEntryKeySize || key[0] != kEntryPrefix) {
      return common::Unexpected<Error>{Corrupt("unknown key of " + std::to_string(key.size()) +
                                               " bytes")};
    }
    const Index i = EntryKeyIndex(key);
    const std::string where = "log entry " + std::to_string(i);
    if (i != s.last_index + 1) {
      return common::Unexpected<Error>{
          Corrupt(where + " found where " + std::to_string(s.last_index + 1) +
                  " was expected (log is not contiguous after anchor " +
                  std::to_string(s.anchor_index) + ")")};
    }
    auto e = DecodeEntry(key, std::string_view(it->value().data(), it->value().size()));
    if (!e) return common::Unexpected<Error>{Corrupt(where + ": checksum mismatch")};
    if (e->index != i) {
      return common::Unexpected<Error>{
          Corrupt(where + ": stored under the key of index " + std::to_string(e->index))};
    }
    if (e->term < s.last_term) {
      return common::Unexpected<Error>{Corrupt(where + ": term " + std::to_string(e->term) +
                                               " below the previous entry's " +
                                               std::to_string(s.last_term))};
    }
    if (i == s.snap.index) snap_entry_term = e->term;
    s.last_index = i;
    s.last_term = e->term;
  }
  if (!it->status().ok()) {
    return common::Unexpected<Error>{Corrupt("scanning the log: " + it->status().ToString())};
  }

  if (s.snap.index < s.anchor_index || s.snap.index > s.last_index) {
    return common::Unexpected<Error>{Corrupt(
        "snapshot index " + std::to_string(s.snap.index) + " outside the log anchor " +
        std::to_string(s.anchor_index) + " .. last " + std::to_string(s.last_index))};
  }
  const Term at_snap = s.snap.index == s.anchor_index ? s.anchor_term : snap_entry_term.value_or(0);
  if (at_snap != s.snap.term) {
    return common::Unexpected<Error>{Corrupt("snapshot term " + std::to_string(s.snap.term) +
                                             " differs from the log's term " +
                                             std::to_string(at_snap) + " at index " +
                                             std::to_string(s.snap.index))};
  }
  if (s.hs.commit > s.last_index) {
    return common::Unexpected<Error>{Corrupt("hard state commit " + std::to_string(s.hs.commit) +
                                             " beyond last index " +
                                             std::to_string(s.last_index))};
  }
  state_ = s;
  return {};
}

Result<std::vector<Entry>> RocksStorage::entries(Index lo, Index hi,
                                                 std::uint64_t max_bytes) const {
  if (lo <= state_.anchor_index) {
    return Fail(ErrorCode::kCompacted, "entries(" + std::to_string(lo) + "): compacted up to " +
                                           std::to_string(state_.anchor_index));
  }
  if (hi > state_.last_index + 1) {
    return Fail(ErrorCode::kUnavailable, "entries(" + std::to_string(lo) + ", " +
                                             std::to_string(hi) + "): last index is " +
                                             std::to_string(state_.last_index));
  }
  std::vector<Entry> out;
  std::uint64_t size = 0;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ReadOpts()));
  Index i = lo;
  for (it->Seek(EntryKey(lo)); i < hi; it->Next(), ++i) {
    const std::string key = EntryKey(i);
    if (!it->Valid() || it->key() != rocksdb::Slice(key)) {
      return Fail(ErrorCode::kCorruptState, "raft storage " + dir_ + ": log entry " +
                                                std::to_string(i) + " missing");
    }
    auto e = DecodeEntry(key, std::string_view(it->value().data(), it->value().size()));
    if (!e || e->index != i) {
      return Fail(ErrorCode::kCorruptState, "raft storage " + dir_ + ": log entry " +
                                                std::to_string(i) + " checksum mismatch");
    }
    size += EntrySize(*e);
    // Always return at least one entry, so that one oversized entry still makes progress.
    if (!out.empty() && size > max_bytes) break;
    out.push_back(std::move(*e));
  }
  return out;
}

Result<Term> RocksStorage::term(Index i) const {
  if (i < state_.anchor_index) {
    return Fail(ErrorCode::kCompacted, "term(" + std::to_string(i) + "): compacted up to " +
                                           std::to_string(state_.anchor_index));
  }
  if (i > state_.last_index) {
    return Fail(ErrorCode::kUnavailable, "term(" + std::to_string(i) + "): last index is " +
                                             std::to_string(state_.last_index));
  }
  if (i == state_.anchor_index) return state_.anchor_term;
  if (i == state_.last_index) return state_.last_term;
  auto e = entries(i, i + 1, 0);
  if (!e) return common::Unexpected<Error>{e.error()};
  return e->front().term;
}

Result<Snapshot> RocksStorage::snapshot() const {
  std::string val;
  const rocksdb::Status st = db_->Get(ReadOpts(), S(kSnapDataKey), &val);
  auto body = st.ok() ? Unseal(kSnapDataKey, val) : std::nullopt;
  if (!body) {
    return Fail(ErrorCode::kCorruptState,
                "raft storage " + dir_ + ": snapshot data unreadable: " + st.ToString());
  }
  return Snapshot{state_.snap, std::string(*body)};
}

Result<void> RocksStorage::Persist(const Ready& rd) {
  Txn t(*this);
  if (rd.snapshot) {
    if (auto r = t.ApplySnapshot(*rd.snapshot); !r) return r;
  }
  if (auto r = t.Append(rd.entries); !r) return r;
  if (rd.hard_state) {
    if (auto r = t.SetHardState(*rd.hard_state); !r) return r;
  }
  return t.Commit(options_.sync && rd.must_sync);
}

Result<void> RocksStorage::set_hard_state(const HardState& hs) {
  Txn t(*this);
  if (auto r = t.SetHardState(hs); !r) return r;
  return t.Commit(options_.sync);
}

Result<void> RocksStorage::apply_snapshot(const Snapshot& snap) {
  Txn t(*this);
  if (auto r = t.ApplySnapshot(snap); !r) return r;
  return t.Commit(options_.sync);
}

Result<void> RocksStorage::append(const std::vector<Entry>& ents) {
  Txn t(*this);
  if (auto r = t.Append(ents); !r) return r;
  return t.Commit(options_.sync);
}

Result<void> RocksStorage::create_snapshot(Index i, const ConfState& conf,
                                           const std::string& data) {
  Txn t(*this);
  if (auto r = t.CreateSnapshot(i, conf, data); !r) return r;
  return t.Commit(options_.sync);
}

Result<void> RocksStorage::compact(Index compact_index) {
  Txn t(*this);
  if (auto r = t.Compact(compact_index); !r) return r;
  return t.Commit(options_.sync);
}

}  // namespace raft
