#include "tests/unit/stego/test_util.h"

#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <zlib.h>

namespace stego::testing {

std::vector<uint8_t> RandomData(size_t size, uint64_t seed) {
  std::vector<uint8_t> out(size);
  uint64_t state = seed * 0x9E3779B97F4A7C15ULL + 1;
  for (uint8_t& b : out) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    b = static_cast<uint8_t>(state >> 24);
  }
  return out;
}

std::vector<uint8_t> TextData(size_t size) {
  static const std::string kText = "It was the best of times, it was the worst of times, it was the age of wisdom. ";
  std::vector<uint8_t> out(size);
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<uint8_t>(kText[i % kText.size()]);
  return out;
}

Image Cover(int width, int height, int channels, uint64_t seed) { return SyntheticCover(width, height, seed, channels); }

EmbedOptions Options(int lsb_bits, std::string password) {
  EmbedOptions options;
  options.lsb_bits = lsb_bits;
  options.password = std::move(password);
  options.scrypt_log2n = kMinScryptLog2N;
  return options;
}

EmbedReport EmbedOrDie(Image& cover, const std::vector<uint8_t>& data, const EmbedOptions& options) {
  Result<PackedPayload> packed = Pack(data, options);
  EXPECT_TRUE(packed.has_value()) << packed.error().message;
  Result<EmbedReport> report = Embed(cover, *packed);
  EXPECT_TRUE(report.has_value()) << report.error().message;
  return report.has_value() ? *report : EmbedReport{};
}

namespace {

void PutBe32(std::vector<uint8_t>& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

void PutChunk(std::vector<uint8_t>& out, const std::string& type, const std::vector<uint8_t>& data) {
  PutBe32(out, static_cast<uint32_t>(data.size()));
  const size_t type_at = out.size();
  out.insert(out.end(), type.begin(), type.end());
  out.insert(out.end(), data.begin(), data.end());
  PutBe32(out, static_cast<uint32_t>(crc32(0, out.data() + type_at, static_cast<uInt>(out.size() - type_at))));
}

}  // namespace

std::vector<uint8_t> BuildPng(uint32_t width, uint32_t height, uint8_t bit_depth, uint8_t colour_type,
                              const std::vector<uint8_t>& scanlines, const std::vector<PngChunk>& extra) {
  std::vector<uint8_t> png = {137, 80, 78, 71, 13, 10, 26, 10};
  std::vector<uint8_t> ihdr;
  PutBe32(ihdr, width);
  PutBe32(ihdr, height);
  ihdr.insert(ihdr.end(), {bit_depth, colour_type, 0, 0, 0});
  PutChunk(png, "IHDR", ihdr);
  for (const PngChunk& chunk : extra) PutChunk(png, chunk.type, chunk.data);
  std::vector<uint8_t> idat(compressBound(static_cast<uLong>(scanlines.size())));
  uLongf size = static_cast<uLongf>(idat.size());
  compress(idat.data(), &size, scanlines.data(), static_cast<uLong>(scanlines.size()));
  idat.resize(size);
  PutChunk(png, "IDAT", idat);
  PutChunk(png, "IEND", {});
  return png;
}

std::vector<uint8_t> OpenCvEncode(const std::string& extension, int width, int height, int type, const void* pixels,
                                  const std::vector<int>& params) {
  const cv::Mat mat(height, width, type, const_cast<void*>(pixels));
  std::vector<uint8_t> out;
  EXPECT_TRUE(cv::imencode(extension, mat, out, params));
  return out;
}

}  // namespace stego::testing
