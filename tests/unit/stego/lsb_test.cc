// The bit layer against a bit-by-bit reference of the layout documented in lsb.h.
#include "worker/stego/lsb.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "tests/unit/stego/test_util.h"

namespace stego {
namespace {

using testing::Cover;
using testing::RandomData;

// Index into image.pixels of colour slot `slot` (alpha skipped).
size_t SlotOffset(const Image& image, size_t slot) {
  return image.channels == 4 ? slot / 3 * 4 + slot % 3 : slot;
}

// Bit i of a group's byte string goes to bit (i % depth) of slot (i / depth).
void ExpectGroupHolds(const Image& image, int depth, size_t group, const uint8_t* bytes, size_t size) {
  for (size_t bit = 0; bit < GroupBytes(depth) * 8; ++bit) {
    const int expected = bit / 8 < size ? (bytes[bit / 8] >> (bit % 8)) & 1 : 0;  // padding is zero
    const size_t slot = group * kSlotsPerGroup + bit / static_cast<size_t>(depth);
    const int actual = (image.pixels[SlotOffset(image, slot)] >> (bit % static_cast<size_t>(depth))) & 1;
    ASSERT_EQ(actual, expected) << "group " << group << " bit " << bit;
  }
}

void ExpectOnlyLowColourBitsDiffer(const Image& before, const Image& after, int depth) {
  ASSERT_EQ(before.pixels.size(), after.pixels.size());
  for (size_t i = 0; i < before.pixels.size(); ++i) {
    const bool alpha = before.channels == 4 && i % 4 == 3;
    const int changed = before.pixels[i] ^ after.pixels[i];
    ASSERT_EQ(changed >> (alpha ? 0 : depth), 0) << "byte " << i;
  }
}

class LsbTest : public ::testing::TestWithParam<std::tuple<int, int>> {};

TEST_P(LsbTest, ConsecutiveGroupsMatchTheReferenceLayout) {
  const auto [channels, depth] = GetParam();
  const Image cover = Cover(40, 24, channels, 3);
  Image image = cover;
  const size_t first = 5;
  const std::vector<uint8_t> bytes = RandomData(GroupBytes(depth) * 20 + 2, 9);  // ends in a partial group
  WriteGroups(image, depth, first, bytes);

  for (size_t g = 0; g < GroupsFor(bytes.size(), depth); ++g) {
    const size_t offset = g * GroupBytes(depth);
    ExpectGroupHolds(image, depth, first + g, bytes.data() + offset, std::min(GroupBytes(depth), bytes.size() - offset));
  }
  ExpectOnlyLowColourBitsDiffer(cover, image, depth);
  // Groups before `first` and after the last written one are untouched.
  const size_t begin = SlotOffset(image, first * kSlotsPerGroup);
  const size_t end = SlotOffset(image, (first + GroupsFor(bytes.size(), depth)) * kSlotsPerGroup);
  EXPECT_TRUE(std::equal(cover.pixels.begin(), cover.pixels.begin() + static_cast<std::ptrdiff_t>(begin),
                         image.pixels.begin()));
  EXPECT_TRUE(std::equal(cover.pixels.begin() + static_cast<std::ptrdiff_t>(end), cover.pixels.end(),
                         image.pixels.begin() + static_cast<std::ptrdiff_t>(end)));

  std::vector<uint8_t> back(bytes.size());
  ReadGroups(image, depth, first, back);
  EXPECT_EQ(back, bytes);
}

TEST_P(LsbTest, ListedGroupsRoundTripInListOrder) {
  const auto [channels, depth] = GetParam();
  const Image cover = Cover(48, 16, channels, 4);
  Image image = cover;
  const std::vector<uint32_t> groups = {17, 3, 30, 0, 9};
  const std::vector<uint8_t> bytes = RandomData(GroupBytes(depth) * groups.size() - 1, 5);
  WriteGroups(image, depth, groups, bytes);

  for (size_t i = 0; i < groups.size(); ++i) {
    const size_t offset = i * GroupBytes(depth);
    ExpectGroupHolds(image, depth, groups[i], bytes.data() + offset, std::min(GroupBytes(depth), bytes.size() - offset));
  }
  ExpectOnlyLowColourBitsDiffer(cover, image, depth);
  std::vector<uint8_t> back(bytes.size());
  ReadGroups(image, depth, groups, back);
  EXPECT_EQ(back, bytes);
}

INSTANTIATE_TEST_SUITE_P(AllLayouts, LsbTest,
                         ::testing::Combine(::testing::Values(1, 3, 4), ::testing::Values(1, 2, 3, 4)),
                         [](const auto& info) {
                           return std::to_string(std::get<0>(info.param)) + "ch_" +
                                  std::to_string(std::get<1>(info.param)) + "bit";
                         });

TEST(LsbGeometry, CountsWholeGroupsOfColourSlots) {
  EXPECT_EQ(GroupCount({1920, 1080, 3}), 1920u * 1080u * 3u / 24u);
  EXPECT_EQ(GroupCount({10, 10, 1}), 4u);  // 100 slots: 4 whole groups, 4 slots unused
  EXPECT_EQ(GroupCount({3, 3, 1}), 0u);
  EXPECT_EQ(GroupsFor(0, 2), 0u);
  EXPECT_EQ(GroupsFor(6, 2), 1u);
  EXPECT_EQ(GroupsFor(7, 2), 2u);
}

}  // namespace
}  // namespace stego
