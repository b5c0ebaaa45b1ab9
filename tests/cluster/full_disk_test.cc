// A member whose disk fills up (ENOSPC on its data directory, a small tmpfs mounted for the test).
// A Raft member that cannot persist its log must not go on voting or acknowledging: it stops. The
// others keep taking writes. Once space returns and the member is started again (as the kubelet
// restarts a container), it resumes from its own directory with nothing corrupted, catches up, and
// no acknowledged write is lost. Once as a follower, once as the leader (the one that persists
// every new entry first).
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "tests/cluster/cluster_fixture.h"
#include "tests/cluster/config_writer.h"

namespace {

using namespace clustertest;
using namespace std::chrono_literals;

class FullDisk : public Cluster {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a tmpfs";
    root_ = testsupport::FreshScratchDirectory("stego-full-disk",
                                               ::testing::UnitTest::GetInstance()->current_test_info()->name());
    for (const char* name : {"node1", "node2", "node3"}) AddMember(name);
    small_ = root_ / "small";
    std::filesystem::create_directories(small_);
    ASSERT_EQ(::mount("tmpfs", small_.c_str(), "tmpfs", 0, "size=16m"), 0) << std::strerror(errno);
    mounted_ = true;
    members_.at("node1").dir = small_ / "node1";
    StartAll();
  }

  void TearDown() override {
    if (root_.empty()) return;  // skipped
    if (mounted_) {
      members_.at("node1").process.reset();
      ::umount2(small_.c_str(), MNT_DETACH);
    }
    Cluster::TearDown();
  }

  // Writes to the small filesystem until it is full; returns the filler's path.
  std::filesystem::path FillTheDisk() {
    const auto filler = small_ / "filler";
    std::ofstream out(filler, std::ios::binary);
    const std::string chunk(64 << 10, 'x');
    while (out.write(chunk.data(), chunk.size()) && out.flush()) {
    }
    return filler;
  }

  // Makes node1 the leader, or a follower.
  void MakeNode1(bool leader) {
    WaitFullyFormed();
    const std::string current = WaitLeader();
    if ((current == "node1") != leader) {
      const json target = {{"target", leader ? "node1" : "node2"}};
      ASSERT_EQ(Client(current).Request("POST", "/admin/transfer-leadership", target.dump(), kAdmin).status, 200);
    }
    ASSERT_EQ(WaitLeader() == "node1", leader);
  }

  // Fills node1's disk under a writer that raises max_pixels through every member in turn; node1
  // must stop and the others go on. Then frees the space, starts node1 again and checks that it
  // catches up with every acknowledged write.
  void FillNode1sDiskUnderWrites() {
    ConfigWriter writer(HttpPorts(), {"node1", "node2", "node3"});
    EXPECT_TRUE(Eventually([&] { return writer.last_acked() > 5; })) << "no write acknowledged before the disk filled";
    const auto filler = FillTheDisk();
    const auto full = ConfigWriter::Clock::now();
    EXPECT_TRUE(members_.at("node1").process->WaitExit(30s).has_value()) << "the full member went on";
    EXPECT_TRUE(Eventually([&] { return writer.AckedSince(full) > 5; }, 30s))
        << "the others did not go on taking writes";
    writer.Stop();

    std::filesystem::remove(filler);
    Start("node1");  // from its own directory: it must open it, nothing corrupted
    ExpectNoAcknowledgedWriteLost(writer.last_acked());
    WaitFullyFormed();
  }

  std::filesystem::path small_;
  bool mounted_ = false;
};

// How it stops: our storage reports the failed write ("persisting failed: ... No space left on
// device") and the node aborts, or, more often here, RocksDB aborts first: Debian builds it with
// its assertions on, and one fires on the write after the failed one
// (WritableFileWriter::AssertFalseAndGetStatusForPrevError). Either way the member stops without
// acknowledging anything it could not persist, which is what the tests check.
TEST_F(FullDisk, AFollowerStopsAndResumesWhenSpaceReturns) {
  MakeNode1(/*leader=*/false);
  FillNode1sDiskUnderWrites();
}

TEST_F(FullDisk, TheLeaderStopsAndResumesWhenSpaceReturns) {
  MakeNode1(/*leader=*/true);
  FillNode1sDiskUnderWrites();
}

}  // namespace
