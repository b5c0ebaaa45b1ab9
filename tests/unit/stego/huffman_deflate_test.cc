#include "worker/stego/huffman_deflate.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <random>
#include <vector>

namespace stego {
namespace {

// Inflates raw deflate data with zlib, the decoder behind libpng: the judge of what we write.
std::vector<uint8_t> Inflate(const std::vector<uint8_t>& deflated, size_t expected_size) {
  z_stream zs{};
  EXPECT_EQ(inflateInit2(&zs, -15), Z_OK);
  std::vector<uint8_t> out(expected_size + 1);
  zs.next_in = const_cast<uint8_t*>(deflated.data());
  zs.avail_in = static_cast<uInt>(deflated.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&zs, Z_FINISH), Z_STREAM_END) << (zs.msg ? zs.msg : "");
  EXPECT_EQ(zs.avail_in, 0u) << "bytes left after the final block";
  out.resize(zs.total_out);
  inflateEnd(&zs);
  return out;
}

// Deflates `parts` as consecutive writes, the last one final.
std::vector<uint8_t> Deflate(const std::vector<std::vector<uint8_t>>& parts, bool sync_flush_between = false) {
  size_t total = 0;
  for (const auto& part : parts) total += part.size();
  std::vector<uint8_t> out(MaxDeflatedBytes(total) + 5 * parts.size());
  HuffmanDeflater deflater(out.data());
  for (size_t i = 0; i < parts.size(); ++i) {
    deflater.Write(parts[i], i + 1 == parts.size());
    if (sync_flush_between && i + 1 < parts.size()) deflater.SyncFlush();
  }
  out.resize(deflater.Finish());
  return out;
}

std::vector<uint8_t> Random(size_t size, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> data(size);
  for (uint8_t& b : data) b = static_cast<uint8_t>(rng());
  return data;
}

// Filtered payload bits look like this: a few small residuals, heavily skewed.
std::vector<uint8_t> Skewed(size_t size, uint32_t seed) {
  std::mt19937 rng(seed);
  std::geometric_distribution<int> residual(0.4);
  std::vector<uint8_t> data(size);
  for (uint8_t& b : data) b = static_cast<uint8_t>(rng() % 2 ? residual(rng) : -residual(rng));
  return data;
}

TEST(HuffmanDeflater, SkewedDataRoundTripsAndShrinks) {
  const std::vector<uint8_t> data = Skewed(200'000, 1);
  const std::vector<uint8_t> deflated = Deflate({data});
  EXPECT_EQ(Inflate(deflated, data.size()), data);
  EXPECT_LT(deflated.size(), data.size() / 2);
}

TEST(HuffmanDeflater, IncompressibleDataIsStoredWithinTheBound) {
  const std::vector<uint8_t> data = Random(300'000, 2);
  const std::vector<uint8_t> deflated = Deflate({data});
  EXPECT_EQ(Inflate(deflated, data.size()), data);
  EXPECT_LE(deflated.size(), MaxDeflatedBytes(data.size()));
  EXPECT_LT(deflated.size(), data.size() + 100) << "stored blocks, not codes longer than a byte";
}

TEST(HuffmanDeflater, DegenerateAlphabetsStillMakeCompleteCodes) {
  // One byte value only: the code still needs a second symbol (end of block) to be complete.
  for (const std::vector<uint8_t>& data :
       {std::vector<uint8_t>(70'000, 0), std::vector<uint8_t>(1, 7), std::vector<uint8_t>{0, 255}, std::vector<uint8_t>{}}) {
    EXPECT_EQ(Inflate(Deflate({data}), data.size()), data) << data.size();
  }
}

TEST(HuffmanDeflater, VeryUnevenFrequenciesAreLengthLimited) {
  // Fibonacci-like counts would give a Huffman code deeper than deflate's 15 bits.
  std::vector<uint8_t> data;
  for (int symbol = 0, count = 1, previous = 1; symbol < 26; ++symbol) {
    data.insert(data.end(), static_cast<size_t>(count), static_cast<uint8_t>(symbol));
    const int next = count + previous;
    previous = count;
    count = next;
  }
  EXPECT_EQ(Inflate(Deflate({data}), data.size()), data);
}

TEST(HuffmanDeflater, BlocksAndSyncFlushesFormOneStream) {
  const std::vector<std::vector<uint8_t>> parts = {Skewed(20'000, 3), Random(20'000, 4), Skewed(50, 5), {},
                                                   Skewed(70'000, 6)};
  std::vector<uint8_t> whole;
  for (const auto& part : parts) whole.insert(whole.end(), part.begin(), part.end());
  EXPECT_EQ(Inflate(Deflate(parts), whole.size()), whole);
  EXPECT_EQ(Inflate(Deflate(parts, /*sync_flush_between=*/true), whole.size()), whole);
}

}  // namespace
}  // namespace stego
