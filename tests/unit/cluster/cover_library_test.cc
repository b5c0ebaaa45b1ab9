// CoverLibrary as a section of the replicated state: puts and deletes applied in log order, ids
// that are the content's hash, limits decided at apply time from the replicated configuration,
// and snapshots that carry the bytes.
#include "worker/cluster/cover_library.h"

#include <gtest/gtest.h>

#include "tests/unit/cluster/heard.h"

#include "worker/cluster/cluster_state.h"

namespace cluster {
namespace {

// SHA-256("abc"), FIPS 180-2 appendix B.1.
constexpr const char* kAbcId = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

CoverMeta Described(std::string name = "photo.png") {
  return {.width = 640, .height = 480, .channels = 3, .format = "png", .name = std::move(name),
          .created_at = "2026-01-02T03:04:05Z"};
}

std::string Put(std::string_view bytes, std::string name = "photo.png") {
  return EncodePutCover(Described(std::move(name)), bytes);
}

TEST(CoverIdTest, IsTheLowercaseHexSha256AndParsesEitherCase) {
  EXPECT_EQ(CoverIdOf("abc"), kAbcId);
  std::string upper = kAbcId;
  for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  EXPECT_EQ(ParseCoverId(upper), kAbcId);
  EXPECT_EQ(ParseCoverId(kAbcId), kAbcId);
  EXPECT_FALSE(ParseCoverId(std::string(kAbcId).substr(1)));
  EXPECT_FALSE(ParseCoverId(std::string(kAbcId) + "0"));
  EXPECT_FALSE(ParseCoverId(std::string(63, 'a') + "g"));
  EXPECT_FALSE(ParseCoverId(""));
}

TEST(CoverLibraryTest, APutAddsTheCoverUnderTheHashOfItsBytes) {
  ClusterState state(nullptr);
  const std::string heard5 = Heard(state.ApplyCommand(5, Put("abc")));
  EXPECT_EQ(heard5, "");
  const auto cover = state.covers().Find(kAbcId);
  ASSERT_TRUE(cover);
  EXPECT_EQ(*cover->bytes, "abc");
  CoverMeta expected = Described();
  expected.id = kAbcId;
  expected.size_bytes = 3;
  expected.added_at = 5;
  EXPECT_EQ(cover->meta, expected);
  ASSERT_EQ(state.covers().List().size(), 1u);
  EXPECT_EQ(state.covers().List()[0], expected);
}

TEST(CoverLibraryTest, TheIdComesFromTheBytesNotFromTheProposer) {
  ClusterState state(nullptr);
  const std::string forged = EncodeCommand(
      {{"op", "put_cover"}, {"id", std::string(64, '0')},
       {"cover", {{"width", 1}, {"height", 1}, {"channels", 1}, {"format", "png"}, {"name", ""}, {"created_at", ""}}}},
      "abc");
  state.Apply(1, forged);
  EXPECT_TRUE(state.covers().Find(kAbcId));
  EXPECT_FALSE(state.covers().Find(std::string(64, '0')));
}

TEST(CoverLibraryTest, PuttingTheSameBytesAgainKeepsTheFirstCover) {
  ClusterState state(nullptr);
  state.Apply(5, Put("abc", "first.png"));
  // Skipped, saying why: the proposer of 9 learns its upload added nothing, even if the cover is
  // deleted again before it looks.
  EXPECT_EQ(Heard(state.ApplyCommand(9, Put("abc", "second.png"))), kCoverAlreadyThere);
  ASSERT_EQ(state.covers().List().size(), 1u);
  EXPECT_EQ(state.covers().Find(kAbcId)->meta.name, "first.png");
  EXPECT_EQ(state.covers().Find(kAbcId)->meta.added_at, 5u);
}

TEST(CoverLibraryTest, MalformedPutsAreSkipped) {
  ClusterState state(nullptr);
  CoverMeta two_channels = Described();
  two_channels.channels = 2;
  CoverMeta long_name = Described(std::string(kMaxCoverNameBytes + 1, 'a'));
  CoverMeta no_format = Described();
  no_format.format = "";
  const std::vector<std::string> malformed = {
      EncodePutCover(Described(), ""),  // no bytes
      EncodePutCover(two_channels, "abc"), EncodePutCover(long_name, "abc"), EncodePutCover(no_format, "abc"),
      EncodeCommand({{"op", "put_cover"}, {"cover", "not an object"}}, "abc")};
  for (raft::Index i = 1; i <= 5; ++i) EXPECT_NE(Heard(state.ApplyCommand(i, malformed[i - 1])), "") << i;
  EXPECT_TRUE(state.covers().List().empty());
}

TEST(CoverLibraryTest, LimitsAreTheReplicatedConfigurationAtTheCommandsIndex) {
  ClusterState state(nullptr);
  state.Apply(1, EncodeConfigPatch({{"max_cover_bytes", 1024}, {"max_covers", 2}}));
  const std::string heard2 = Heard(state.ApplyCommand(2, Put(std::string(1025, 'x'))));
  EXPECT_NE(heard2.find("max_cover_bytes"), std::string::npos) << heard2;
  EXPECT_EQ(Heard(state.covers().RoomFor(1025)), heard2) << "the proposer's check is the same one";

  const std::string heard3 = Heard(state.ApplyCommand(3, Put(std::string(1024, 'a'))));
  const std::string heard4 = Heard(state.ApplyCommand(4, Put(std::string(1024, 'b'))));
  const std::string heard5 = Heard(state.ApplyCommand(5, Put(std::string(1024, 'c'))));
  EXPECT_EQ(heard3, "");
  EXPECT_EQ(heard4, "");
  EXPECT_NE(heard5.find("max_covers"), std::string::npos) << heard5;
  const std::string heard6 = Heard(state.ApplyCommand(6, Put(std::string(1024, 'a'))));
  EXPECT_EQ(heard6, kCoverAlreadyThere) << "a cover already there is answered so even when the library is full";

  state.Apply(7, EncodeConfigPatch({{"max_cover_bytes", 1 << 20}, {"max_covers", 100}, {"max_library_bytes", 1 << 20}}));
  const std::string heard8 = Heard(state.ApplyCommand(8, Put(std::string((1 << 20) - 2048, 'd'))));
  EXPECT_EQ(heard8, "");
  const std::string heard9 = Heard(state.ApplyCommand(9, Put("one byte too many")));
  EXPECT_NE(heard9.find("max_library_bytes"), std::string::npos) << heard9;
  EXPECT_EQ(state.covers().List().size(), 3u);
}

TEST(CoverLibraryTest, DeleteFreesTheRoomAndAnUnknownIdIsSkipped) {
  ClusterState state(nullptr);
  state.Apply(1, EncodeConfigPatch({{"max_covers", 1}}));
  state.Apply(2, Put("abc"));
  EXPECT_NE(Heard(state.covers().RoomFor(1)), "");
  const std::string heard3 = Heard(state.ApplyCommand(3, EncodeDeleteCover(kAbcId)));
  EXPECT_EQ(heard3, "");
  EXPECT_FALSE(state.covers().Find(kAbcId));
  EXPECT_EQ(Heard(state.covers().RoomFor(1)), "");
  const std::string heard4 = Heard(state.ApplyCommand(4, EncodeDeleteCover(kAbcId)));
  EXPECT_NE(heard4.find("no such cover"), std::string::npos) << heard4;
  const std::string heard5 = Heard(state.ApplyCommand(5, EncodeCommand({{"op", "delete_cover"}, {"id", 7}})));
  EXPECT_NE(heard5, "");
}

TEST(CoverLibraryTest, ListsOldestFirst) {
  ClusterState state(nullptr);
  state.Apply(1, Put("zzz"));  // in id order (17f1.., 8b72.., ba78..) "abc" would come last
  state.Apply(2, Put("abc"));
  state.Apply(3, Put("mmm"));
  std::vector<std::string> ids;
  for (const auto& meta : state.covers().List()) ids.push_back(meta.id);
  EXPECT_EQ(ids, (std::vector<std::string>{CoverIdOf("zzz"), CoverIdOf("abc"), CoverIdOf("mmm")}));
}

TEST(CoverLibraryTest, SnapshotCarriesMetadataAndBytesBinarySafe) {
  ConfigStore config;
  CoverLibrary a(config);
  const std::string png("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16);
  ASSERT_TRUE(a.Apply(3, *DecodeCommand(Put(png, "with-nul.png"))));
  ASSERT_TRUE(a.Apply(4, *DecodeCommand(Put("abc", ""))));
  const std::string snapshot = a.Snapshot();

  CoverLibrary b(config);
  ASSERT_TRUE(b.Apply(1, *DecodeCommand(Put("replaced by the restore"))));
  b.Restore(snapshot);
  EXPECT_EQ(b.List(), a.List());
  EXPECT_EQ(*b.Find(CoverIdOf(png))->bytes, png);
  EXPECT_EQ(b.Snapshot(), snapshot);
  EXPECT_EQ(Heard(b.RoomFor(1)), "");

  b.Restore("");  // a snapshot taken before the library existed
  EXPECT_TRUE(b.List().empty());
}

TEST(CoverLibraryTest, ADamagedSnapshotIsRefusedAndTheLibraryKept) {
  ConfigStore config;
  CoverLibrary a(config);
  ASSERT_TRUE(a.Apply(1, *DecodeCommand(Put("abc"))));
  const std::string snapshot = a.Snapshot();
  CoverLibrary b(config);
  ASSERT_TRUE(b.Apply(1, *DecodeCommand(Put("kept"))));
  EXPECT_THROW(b.Restore(snapshot.substr(0, snapshot.size() - 1)), std::exception);
  EXPECT_THROW(b.Restore(snapshot + "x"), std::exception);
  EXPECT_THROW(b.Restore("garbage"), std::exception);
  EXPECT_TRUE(b.Find(CoverIdOf("kept")));
}

TEST(CoverLibraryTest, TheSameCommandsGiveTheSameStateOnEveryMember) {
  const std::vector<std::string> log = {
      Put("abc"), EncodeConfigPatch({{"max_covers", 2}}), Put("def", "d.png"), Put("ghi"), EncodeDeleteCover(kAbcId),
      Put("ghi", "again.png"), Put("abc")};
  ClusterState a(nullptr), b(nullptr);
  std::vector<std::string> heard;
  for (std::size_t i = 0; i < log.size(); ++i) {
    heard.push_back(Heard(a.ApplyCommand(i + 1, log[i])));
    EXPECT_EQ(heard.back(), Heard(b.ApplyCommand(i + 1, log[i]))) << i;
  }
  EXPECT_EQ(a.Snapshot(), b.Snapshot());
  EXPECT_NE(heard[3], "") << "the library was full";
  EXPECT_EQ(a.covers().List().size(), 2u);

  ClusterState c(nullptr);  // a member that catches up from a snapshot
  ASSERT_TRUE(c.Restore(log.size(), a.Snapshot()));
  EXPECT_EQ(c.covers().List(), a.covers().List());
  EXPECT_EQ(c.Snapshot(), a.Snapshot());
}

}  // namespace
}  // namespace cluster
