#include "worker/stego/capacity.h"

#include <gtest/gtest.h>

#include "tests/unit/stego/test_util.h"
#include "worker/stego/container.h"

namespace stego {
namespace {

using testing::Options;
using testing::RandomData;

TEST(Capacity, IsExactForKnownGeometry) {
  // 64x64x3: 512 groups; 2 preamble + 6 header groups at 1 bit leave 504 groups of 3 bytes.
  EXPECT_EQ(*MaxDataBytes({{64, 64, 3}, 1, false, 0, 0}), 504u * 3u - 2u);
  // With a password: 17 header groups, and the GCM tag.
  EXPECT_EQ(*MaxDataBytes({{64, 64, 3}, 1, true, 0, 0}), 493u * 3u - 2u - 16u);
  // Name and MIME type are stored in the record.
  EXPECT_EQ(*MaxDataBytes({{64, 64, 3}, 1, false, 10, 9}), 504u * 3u - 2u - 19u);
  // 1080p at 2 bits: 259200 groups of 6 bytes.
  EXPECT_EQ(*MaxDataBytes({{1920, 1080, 3}, 2, false, 0, 0}), (259200u - 2u - 3u) * 6u - 2u);
  // Gray covers have a third of the slots.
  EXPECT_EQ(*MaxDataBytes({{64, 64, 1}, 1, false, 0, 0}), (170u - 8u) * 3u - 2u);
  EXPECT_EQ(*MaxDataBytes({{4, 4, 3}, 1, false, 0, 0}), 0u);
}

TEST(Capacity, RefusesBadArguments) {
  EXPECT_EQ(MaxDataBytes({{64, 64, 3}, 0, false, 0, 0}).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(MaxDataBytes({{64, 64, 3}, 5, false, 0, 0}).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(MaxDataBytes({{64, 64, 3}, 1, false, 256, 0}).error().code, ErrorCode::kInvalidArgument);
}

class CapacityBoundary : public ::testing::TestWithParam<std::tuple<int, bool>> {};

TEST_P(CapacityBoundary, ExactlyAtCapacityFitsAndOneMoreByteDoesNot) {
  const auto [bits, encrypted] = GetParam();
  const ImageDims dims{48, 40, 3};
  const size_t capacity = *MaxDataBytes({dims, bits, encrypted, 0, 0});
  const EmbedOptions options = Options(bits, encrypted ? "pw" : "");

  Result<PackedPayload> at = Pack(RandomData(capacity, 1), options);
  ASSERT_TRUE(at.has_value());
  EXPECT_FALSE(at->compressed);
  EXPECT_TRUE(CheckCapacity(*at, dims).has_value());

  Result<PackedPayload> over = Pack(RandomData(capacity + 1, 1), options);
  ASSERT_TRUE(over.has_value());
  Result<void> check = CheckCapacity(*over, dims);
  ASSERT_FALSE(check.has_value());
  const Error& error = check.error();
  EXPECT_EQ(error.code, ErrorCode::kCapacityExceeded);
  EXPECT_EQ(error.needed_bytes, error.available_bytes + 1);
  EXPECT_EQ(error.available_bytes, BodyCapacity(dims, bits, encrypted));
  EXPECT_NE(error.message.find(std::to_string(error.needed_bytes)), std::string::npos) << error.message;
  EXPECT_NE(error.message.find(std::to_string(error.available_bytes)), std::string::npos) << error.message;
}

INSTANTIATE_TEST_SUITE_P(DepthsAndPasswords, CapacityBoundary,
                         ::testing::Combine(::testing::Values(1, 2, 3, 4), ::testing::Bool()));

TEST(Capacity, CompressionLetsMoreThanCapacityFit) {
  const ImageDims dims{48, 40, 3};
  const size_t capacity = *MaxDataBytes({dims, 1, false, 0, 0});
  Result<PackedPayload> packed = Pack(testing::TextData(capacity * 4), Options(1));
  ASSERT_TRUE(packed.has_value());
  EXPECT_TRUE(packed->compressed);
  EXPECT_TRUE(CheckCapacity(*packed, dims).has_value());
}

}  // namespace
}  // namespace stego
