// Tests of RocksStorage: it must behave exactly like MemoryStorage, survive reopening, write each
// batch all-or-nothing, and refuse to open on corrupted or torn state.
//
// Has its own main: `rocksdb_storage_test --write-forever DIR` is the child process that
// KilledWriterLeavesWholeBatches kills mid-write.
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "worker/raft/message.h"
#include "worker/raft/rawnode.h"
#include "worker/raft/rocksdb/rocks_storage.h"
#include "worker/raft/storage.h"

namespace raft {
namespace {

constexpr int kBatchEntries = 50;

// A fresh directory under $TMPDIR, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/rocks_storage_test.XXXXXX";
    EXPECT_NE(mkdtemp(tmpl.data()), nullptr);
    path_ = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Unsynced by default: these tests close cleanly, and fsync would only slow them down.
std::unique_ptr<RocksStorage> MustOpen(const std::string& dir, bool sync = false) {
  auto s = RocksStorage::Open(dir, RocksStorage::Options{.sync = sync});
  EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().message);
  return s ? std::move(*s) : nullptr;
}

std::string EntryKey(Index i) {  // the layout of rocks_storage.h
  std::string k(1, 'e');
  for (int b = 7; b >= 0; --b) k.push_back(static_cast<char>(i >> (8 * b)));
  return k;
}

std::vector<Entry> Ents(Index lo, Index hi, Term t) {
  std::vector<Entry> v;
  for (Index i = lo; i <= hi; ++i) {
    v.push_back(Entry{t, i, EntryType::kNormal, "e" + std::to_string(i)});
  }
  return v;
}

void ExpectSameState(const Storage& want, const Storage& got) {
  ASSERT_EQ(want.first_index(), got.first_index());
  ASSERT_EQ(want.last_index(), got.last_index());
  EXPECT_EQ(want.hard_state(), got.hard_state());
  const Snapshot ws = *want.snapshot(), gs = *got.snapshot();
  EXPECT_EQ(ws.meta, gs.meta);
  EXPECT_EQ(ws.data, gs.data);
  for (Index i = want.first_index() - 1; i <= want.last_index(); ++i) {
    ASSERT_EQ(*want.term(i), *got.term(i)) << "index " << i;
  }
  if (want.first_index() <= want.last_index()) {
    const auto we = want.entries(want.first_index(), want.last_index() + 1, UINT64_MAX);
    const auto ge = got.entries(got.first_index(), got.last_index() + 1, UINT64_MAX);
    ASSERT_TRUE(ge.has_value()) << ge.error().message;
    EXPECT_EQ(*we, *ge);
  }
  EXPECT_EQ(want.term(want.last_index() + 1).error().code,
            got.term(got.last_index() + 1).error().code);
}

// Drives a MemoryStorage and a RocksStorage through the same random sequence of appends (with
// truncation), hard states, snapshots, compactions and installed snapshots; reopens regularly.
TEST(RocksStorage, RandomOperationsMatchMemoryStorageAcrossReopens) {
  TempDir dir;
  MemoryStorage mem;
  auto rocks = MustOpen(dir.path());
  std::mt19937_64 rng(20261123);
  auto pick = [&](std::uint64_t lo, std::uint64_t hi) {  // uniform in [lo, hi]
    return std::uniform_int_distribution<std::uint64_t>(lo, hi)(rng);
  };
  Term term = 1;
  int reopens = 0;
  for (int step = 0; step < 400; ++step) {
    const auto op = pick(0, 99);
    const Index commit = mem.hard_state().commit;
    if (op < 50) {  // append, truncating the uncommitted suffix from a random point
      if (pick(0, 3) == 0) ++term;
      const Index lo = pick(std::max(commit + 1, mem.first_index()), mem.last_index() + 1);
      const auto ents = Ents(lo, lo + pick(0, 8), term);
      ASSERT_TRUE(mem.append(ents).has_value());
      auto r = rocks->append(ents);
      ASSERT_TRUE(r.has_value()) << r.error().message;
    } else if (op < 70) {
      const HardState hs{term, pick(0, 3), pick(commit, mem.last_index())};
      mem.set_hard_state(hs);
      ASSERT_TRUE(rocks->set_hard_state(hs).has_value());
    } else if (op < 82) {  // snapshot at or below commit, as an application would
      const Index i = pick(0, commit);
      const ConfState cs{{1, 2, pick(3, 9)}, {}};
      const std::string data = "state@" + std::to_string(i);
      const auto mr = mem.create_snapshot(i, cs, data);
      const auto rr = rocks->create_snapshot(i, cs, data);
      ASSERT_EQ(mr.has_value(), rr.has_value()) << (rr ? "" : rr.error().message);
      if (!mr) {
        EXPECT_EQ(mr.error().code, rr.error().code);
      }
    } else if (op < 94) {
      const Index i = pick(0, mem.snapshot()->meta.index);
      ASSERT_TRUE(mem.compact(i).has_value());
      auto r = rocks->compact(i);
      ASSERT_TRUE(r.has_value()) << r.error().message;
    } else {  // a snapshot from a leader, ahead of our log
      ++term;
      Snapshot snap;
      snap.meta = SnapshotMeta{mem.last_index() + pick(0, 5), term, ConfState{{1, 2, 3}, {7}}};
      snap.data = "installed@" + std::to_string(snap.meta.index);
      ASSERT_TRUE(mem.apply_snapshot(snap).has_value());
      auto r = rocks->apply_snapshot(snap);
      ASSERT_TRUE(r.has_value()) << r.error().message;
    }
    ASSERT_NO_FATAL_FAILURE(ExpectSameState(mem, *rocks)) << "step " << step;
    if (step % 20 == 19) {
      rocks.reset();
      rocks = MustOpen(dir.path());
      ASSERT_TRUE(rocks);
      ++reopens;
      ASSERT_NO_FATAL_FAILURE(ExpectSameState(mem, *rocks)) << "after reopen, step " << step;
    }
  }
  EXPECT_EQ(reopens, 20);
  EXPECT_GT(mem.first_index(), 1u);  // the sequence did compact
}

TEST(RocksStorage, TruncatedSuffixStaysTruncatedAfterReopen) {
  TempDir dir;
  {
    auto s = MustOpen(dir.path());
    ASSERT_TRUE(s->append(Ents(1, 5, 1)).has_value());
    ASSERT_TRUE(s->append(Ents(3, 4, 2)).has_value());  // conflicts from 3: 5 must go
    EXPECT_EQ(s->last_index(), 4u);
  }
  auto s = MustOpen(dir.path());
  EXPECT_EQ(s->first_index(), 1u);
  EXPECT_EQ(s->last_index(), 4u);
  EXPECT_EQ(*s->term(2), 1u);
  EXPECT_EQ(*s->term(3), 2u);
  EXPECT_EQ(s->term(5).error().code, ErrorCode::kUnavailable);
  std::vector<Entry> want = Ents(1, 2, 1);
  for (const Entry& e : Ents(3, 4, 2)) want.push_back(e);
  EXPECT_EQ(*s->entries(1, 5, UINT64_MAX), want);
}

TEST(RocksStorage, SnapshotAndCompactionSurviveReopen) {
  TempDir dir;
  const ConfState cs{{1, 2, 3}, {4}};
  {
    auto s = MustOpen(dir.path());
    ASSERT_TRUE(s->append(Ents(1, 10, 3)).has_value());
    ASSERT_TRUE(s->create_snapshot(6, cs, "app state at 6").has_value());
    ASSERT_TRUE(s->compact(4).has_value());
    EXPECT_EQ(s->compact(7).error().code, ErrorCode::kUnavailable);  // beyond the snapshot
  }
  {
    auto s = MustOpen(dir.path());
    EXPECT_EQ(s->first_index(), 5u);
    EXPECT_EQ(s->last_index(), 10u);
    EXPECT_EQ(*s->term(4), 3u);
    EXPECT_EQ(s->term(3).error().code, ErrorCode::kCompacted);
    EXPECT_EQ(s->entries(4, 6, UINT64_MAX).error().code, ErrorCode::kCompacted);
    const Snapshot snap = *s->snapshot();
    EXPECT_EQ(snap.meta, (SnapshotMeta{6, 3, cs}));
    EXPECT_EQ(snap.data, "app state at 6");
    Snapshot newer{SnapshotMeta{20, 5, cs}, "installed"};
    ASSERT_TRUE(s->apply_snapshot(newer).has_value());
  }
  auto s = MustOpen(dir.path());
  EXPECT_EQ(s->first_index(), 21u);
  EXPECT_EQ(s->last_index(), 20u);
  EXPECT_EQ(*s->term(20), 5u);
  EXPECT_EQ(s->snapshot()->data, "installed");
}

// Writes entries 1..5 and a hard state, closes, then lets `damage` edit the raw database.
template <class F>
Result<std::unique_ptr<RocksStorage>> OpenAfterDamage(const std::string& dir, F damage) {
  {
    auto s = MustOpen(dir);
    EXPECT_TRUE(s->append(Ents(1, 5, 1)).has_value());
    EXPECT_TRUE(s->set_hard_state(HardState{1, 1, 3}).has_value());
  }
  {
    rocksdb::DB* raw = nullptr;
    EXPECT_TRUE(rocksdb::DB::Open(rocksdb::Options{}, dir, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    damage(*db);
  }
  return RocksStorage::Open(dir);
}

void ExpectRefused(const Result<std::unique_ptr<RocksStorage>>& r, const std::string& dir,
                   const std::string& what) {
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kCorruptState);
  EXPECT_NE(r.error().message.find(dir), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find(what), std::string::npos) << r.error().message;
}

void FlipLastDataByte(rocksdb::DB& db, const std::string& key) {
  std::string v;
  ASSERT_TRUE(db.Get(rocksdb::ReadOptions{}, key, &v).ok());
  v[v.size() - 5] ^= 0x01;  // the last body byte, just before the CRC
  ASSERT_TRUE(db.Put(rocksdb::WriteOptions{}, key, v).ok());
}

TEST(RocksStorage, CorruptedValueRefusesToStartNamingTheDirectory) {
  {
    TempDir dir;
    auto r = OpenAfterDamage(dir.path(),
                             [](rocksdb::DB& db) { FlipLastDataByte(db, EntryKey(3)); });
    ExpectRefused(r, dir.path(), "log entry 3: checksum mismatch");
  }
  {
    TempDir dir;
    auto r = OpenAfterDamage(dir.path(), [](rocksdb::DB& db) { FlipLastDataByte(db, "h"); });
    ExpectRefused(r, dir.path(), "hard state checksum mismatch");
  }
  {
    TempDir dir;
    auto r = OpenAfterDamage(dir.path(), [](rocksdb::DB& db) { FlipLastDataByte(db, "s"); });
    ExpectRefused(r, dir.path(), "snapshot metadata checksum mismatch");
  }
  {
    TempDir dir;
    auto r = OpenAfterDamage(dir.path(), [](rocksdb::DB& db) { FlipLastDataByte(db, "v"); });
    ExpectRefused(r, dir.path(), "format version");
  }
  {  // a valid entry moved under another key
    TempDir dir;
    auto r = OpenAfterDamage(dir.path(), [](rocksdb::DB& db) {
      std::string v;
      ASSERT_TRUE(db.Get(rocksdb::ReadOptions{}, EntryKey(2), &v).ok());
      ASSERT_TRUE(db.Put(rocksdb::WriteOptions{}, EntryKey(4), v).ok());
    });
    ExpectRefused(r, dir.path(), "log entry 4: checksum mismatch");
  }
}

TEST(RocksStorage, MissingEntryRefusesToStart) {
  TempDir dir;
  auto r = OpenAfterDamage(dir.path(), [](rocksdb::DB& db) {
    ASSERT_TRUE(db.Delete(rocksdb::WriteOptions{}, EntryKey(3)).ok());
  });
  ExpectRefused(r, dir.path(), "log is not contiguous");
}

TEST(RocksStorage, LostTailBelowCommitRefusesToStart) {
  TempDir dir;
  auto r = OpenAfterDamage(dir.path(), [](rocksdb::DB& db) {
    ASSERT_TRUE(db.Delete(rocksdb::WriteOptions{}, EntryKey(5)).ok());
    ASSERT_TRUE(db.Delete(rocksdb::WriteOptions{}, EntryKey(4)).ok());
    ASSERT_TRUE(db.Delete(rocksdb::WriteOptions{}, EntryKey(3)).ok());
  });
  ExpectRefused(r, dir.path(), "hard state commit 3 beyond last index 2");
}

// A batch refused at its last step (hard state) leaves nothing of its earlier steps (snapshot,
// entries) behind, in memory or on disk.
TEST(RocksStorage, RefusedBatchWritesNothing) {
  TempDir dir;
  auto s = MustOpen(dir.path());
  ASSERT_TRUE(s->append(Ents(1, 5, 1)).has_value());
  ASSERT_TRUE(s->set_hard_state(HardState{1, 1, 2}).has_value());
  MemoryStorage before;
  ASSERT_TRUE(before.append(Ents(1, 5, 1)).has_value());
  before.set_hard_state(HardState{1, 1, 2});

  Ready rd;
  rd.snapshot = Snapshot{SnapshotMeta{3, 1, ConfState{{1}, {}}}, "snap"};
  rd.entries = Ents(4, 6, 2);
  rd.hard_state = HardState{2, 1, 9};  // commit beyond what the batch leaves: refused
  rd.must_sync = true;
  const auto r = s->Persist(rd);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  ExpectSameState(before, *s);
  s.reset();
  s = MustOpen(dir.path());
  ExpectSameState(before, *s);

  rd.hard_state->commit = 6;  // now valid: all three parts land together
  ASSERT_TRUE(s->Persist(rd).has_value());
  s.reset();
  s = MustOpen(dir.path());
  EXPECT_EQ(s->first_index(), 4u);
  EXPECT_EQ(s->last_index(), 6u);
  EXPECT_EQ(s->hard_state(), (HardState{2, 1, 6}));
  EXPECT_EQ(s->snapshot()->data, "snap");
}

std::string BatchPayload(Term k) { return std::string(512, static_cast<char>('a' + k % 26)); }

// The child of KilledWriterLeavesWholeBatches: rewrites the whole log (kBatchEntries entries of
// term k) and the hard state (term k) in one batch per k, until killed. Signals `ready_fd` after
// its first batch.
int WriteForever(const std::string& dir, int ready_fd) {
  auto s = RocksStorage::Open(dir, RocksStorage::Options{.sync = false});
  if (!s) return 2;
  for (Term k = (*s)->hard_state().term + 1;; ++k) {
    Ready rd;
    for (Index i = 1; i <= kBatchEntries; ++i) {
      rd.entries.push_back(Entry{k, i, EntryType::kNormal, BatchPayload(k)});
    }
    rd.hard_state = HardState{k, 1, 0};
    rd.must_sync = true;
    if (!(*s)->Persist(rd)) return 3;
    if (ready_fd >= 0) {
      if (write(ready_fd, "x", 1) != 1) return 4;
      close(ready_fd);
      ready_fd = -1;
    }
  }
}

std::string g_self;  // path of this test binary, for re-executing it as the writer

// kill -9 at arbitrary points of a stream of batches: every reopen sees whole batches only (the
// hard state and every entry from the same batch).
TEST(RocksStorage, KilledWriterLeavesWholeBatches) {
  TempDir dir;
  Term last_seen = 0;
  for (int delay_ms : {0, 3, 11, 25}) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      const std::string fd = std::to_string(fds[1]);
      execl(g_self.c_str(), g_self.c_str(), "--write-forever", dir.path().c_str(), fd.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    close(fds[1]);
    char c = 0;
    ASSERT_EQ(read(fds[0], &c, 1), 1) << "writer failed before its first batch";
    close(fds[0]);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "writer exited with " << WEXITSTATUS(status);

    auto s = MustOpen(dir.path());
    ASSERT_TRUE(s);
    const Term k = s->hard_state().term;
    EXPECT_GT(k, last_seen);
    last_seen = k;
    ASSERT_EQ(s->last_index(), static_cast<Index>(kBatchEntries));
    const auto ents = s->entries(1, kBatchEntries + 1, UINT64_MAX);
    ASSERT_TRUE(ents.has_value()) << ents.error().message;
    for (const Entry& e : *ents) {
      ASSERT_EQ(e.term, k) << "entry " << e.index << " from another batch than the hard state";
      ASSERT_EQ(e.data, BatchPayload(k));
    }
  }
}

// Runs a Ready loop to quiescence, persisting each Ready into `s` before advancing (a single
// node has no messages to send). Returns the data of the committed normal entries.
std::vector<std::string> Drive(RawNode& node, RocksStorage& s) {
  std::vector<std::string> applied;
  while (node.HasReady()) {
    Ready rd = node.GetReady();
    const auto r = s.Persist(rd);
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
    for (const Entry& e : rd.committed_entries) {
      if (e.type == EntryType::kNormal && !e.data.empty()) applied.push_back(e.data);
    }
    node.Advance();
  }
  return applied;
}

Config SingleNodeConfig() {
  Config c;
  c.id = 1;
  c.random_seed = 7;
  return c;
}

TEST(RocksStorage, RawNodeRestartsFromWhatAPreviousRawNodePersisted) {
  TempDir dir;
  HardState hs_before;
  std::vector<Entry> log_before;
  {
    auto s = MustOpen(dir.path(), /*sync=*/true);
    const BootstrapState b = Bootstrap(ConfState{{1}, {}});
    Ready boot;
    boot.entries = b.entries;
    boot.hard_state = b.hard_state;
    boot.must_sync = true;
    ASSERT_TRUE(s->Persist(boot).has_value());

    auto node = RawNode::Create(SingleNodeConfig(), s.get());
    ASSERT_TRUE(node.has_value()) << node.error().message;
    (*node)->Campaign();
    Drive(**node, *s);
    ASSERT_EQ((*node)->GetStatus().soft_state.role, Role::kLeader);
    for (const char* p : {"a", "b", "c"}) ASSERT_TRUE((*node)->Propose(p).has_value());
    EXPECT_EQ(Drive(**node, *s), (std::vector<std::string>{"a", "b", "c"}));
    hs_before = s->hard_state();
    EXPECT_EQ(hs_before.commit, s->last_index());
    log_before = *s->entries(1, s->last_index() + 1, UINT64_MAX);
  }

  auto s = MustOpen(dir.path(), /*sync=*/true);
  EXPECT_EQ(s->hard_state(), hs_before);
  EXPECT_EQ(*s->entries(1, s->last_index() + 1, UINT64_MAX), log_before);
  auto node = RawNode::Create(SingleNodeConfig(), s.get());
  ASSERT_TRUE(node.has_value()) << node.error().message;
  // Restarting re-applies the committed log (applied = 0), then leads a new term.
  EXPECT_EQ(Drive(**node, *s), (std::vector<std::string>{"a", "b", "c"}));
  (*node)->Campaign();
  Drive(**node, *s);
  ASSERT_EQ((*node)->GetStatus().soft_state.role, Role::kLeader);
  EXPECT_GT(s->hard_state().term, hs_before.term);
  ASSERT_TRUE((*node)->Propose("d").has_value());
  EXPECT_EQ(Drive(**node, *s), (std::vector<std::string>{"d"}));
  EXPECT_EQ(s->hard_state().commit, s->last_index());
  EXPECT_EQ(s->entries(s->last_index(), s->last_index() + 1, 0)->front().data, "d");
}

}  // namespace
}  // namespace raft

int main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "--write-forever") {
    return raft::WriteForever(argv[2], std::atoi(argv[3]));
  }
  raft::g_self = std::filesystem::canonical("/proc/self/exe").string();
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
