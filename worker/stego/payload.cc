#include "worker/stego/payload.h"

#include <libdeflate.h>

#include <algorithm>
#include <memory>

#include "worker/stego/container.h"
#include "worker/stego/lsb.h"

namespace stego {
namespace {

// libdeflate's default level: a good ratio at several hundred MB/s, since a smaller payload is what
// lets it fit a cover at all.
constexpr int kDeflateLevel = 6;
constexpr size_t kMaxRecordOverhead = 2 + 2 * kMaxNameBytes;

std::vector<uint8_t> BuildRecord(const EmbedOptions& options, std::span<const uint8_t> data) {
  std::vector<uint8_t> record;
  record.reserve(2 + options.filename.size() + options.mime.size() + data.size());
  for (const std::string* field : {&options.filename, &options.mime}) {
    record.push_back(static_cast<uint8_t>(field->size()));
    record.insert(record.end(), field->begin(), field->end());
  }
  record.insert(record.end(), data.begin(), data.end());
  return record;
}

using Compressor = std::unique_ptr<libdeflate_compressor, decltype(&libdeflate_free_compressor)>;

// Already-compressed data (PNG, JPEG, zip: most files people hide) does not shrink, and a level-6
// pass over it costs about as much as the rest of an embed. A fast pass over four samples spread
// over a large record says so first: they must shrink by 1/32 for the whole record to be tried.
bool WorthDeflating(const std::vector<uint8_t>& record) {
  constexpr size_t kSample = 16 * 1024, kSamples = 4;
  if (record.size() < 4 * kSamples * kSample) return true;
  const Compressor fast(libdeflate_alloc_compressor(1), &libdeflate_free_compressor);
  if (!fast) return true;
  std::vector<uint8_t> sample(kSamples * kSample), out(kSamples * kSample);
  for (size_t i = 0; i < kSamples; ++i) {
    const size_t at = i * (record.size() - kSample) / (kSamples - 1);
    std::copy_n(record.begin() + static_cast<std::ptrdiff_t>(at), kSample, sample.begin() + static_cast<std::ptrdiff_t>(i * kSample));
  }
  const size_t size = libdeflate_deflate_compress(fast.get(), sample.data(), sample.size(), out.data(), out.size());
  return size != 0 && size < sample.size() - sample.size() / 32;
}

// The deflated record when strictly smaller, else empty.
std::vector<uint8_t> DeflateIfSmaller(const std::vector<uint8_t>& record) {
  if (record.size() < 2 || !WorthDeflating(record)) return {};
  const Compressor compressor(libdeflate_alloc_compressor(kDeflateLevel), &libdeflate_free_compressor);
  if (!compressor) return {};
  std::vector<uint8_t> out(record.size() - 1);
  const size_t size =
      libdeflate_deflate_compress(compressor.get(), record.data(), record.size(), out.data(), out.size());
  out.resize(size);  // 0 when it did not fit in fewer bytes than the record
  return out;
}

Result<std::vector<uint8_t>> Inflate(std::span<const uint8_t> body, uint32_t raw_size) {
  std::unique_ptr<libdeflate_decompressor, decltype(&libdeflate_free_decompressor)> decompressor(
      libdeflate_alloc_decompressor(), &libdeflate_free_decompressor);
  if (!decompressor) return Fail(ErrorCode::kInternal, "cannot allocate a deflate decompressor");
  std::vector<uint8_t> record(raw_size);
  size_t consumed = 0;
  // No actual-size out-parameter: libdeflate then insists on exactly raw_size bytes of output.
  const libdeflate_result result = libdeflate_deflate_decompress_ex(decompressor.get(), body.data(), body.size(),
                                                                    record.data(), record.size(), &consumed, nullptr);
  if (result != LIBDEFLATE_SUCCESS || consumed != body.size()) {
    return Fail(ErrorCode::kCorruptPayload, "payload does not inflate to its recorded size");
  }
  return record;
}

Result<Unpacked> ParseRecord(std::span<const uint8_t> record) {
  Unpacked out;
  size_t at = 0;
  for (std::string* field : {&out.filename, &out.mime}) {
    if (at >= record.size() || record.size() - at - 1 < record[at]) {
      return Fail(ErrorCode::kCorruptPayload, "payload record is malformed");
    }
    const size_t length = record[at++];
    field->assign(reinterpret_cast<const char*>(record.data() + at), length);
    at += length;
  }
  out.data.assign(record.begin() + static_cast<std::ptrdiff_t>(at), record.end());
  return out;
}

}  // namespace

Result<PackedPayload> Pack(std::span<const uint8_t> data, EmbedOptions options) {
  if (options.lsb_bits < kMinLsbBits || options.lsb_bits > kMaxLsbBits) {
    return Fail(ErrorCode::kInvalidArgument, "lsb_bits must be 1-4, got " + std::to_string(options.lsb_bits));
  }
  if (options.filename.size() > kMaxNameBytes || options.mime.size() > kMaxNameBytes) {
    return Fail(ErrorCode::kInvalidArgument, "filename and MIME type must be at most 255 bytes each");
  }
  if (!options.password.empty() &&
      (options.scrypt_log2n < kMinScryptLog2N || options.scrypt_log2n > kMaxScryptLog2N)) {
    return Fail(ErrorCode::kInvalidArgument, "scrypt cost log2(N) must be " + std::to_string(kMinScryptLog2N) +
                                                 "-" + std::to_string(kMaxScryptLog2N));
  }
  if (data.size() > kMaxStoredBytes - kMaxRecordOverhead - kTagBytes) {
    return Fail(ErrorCode::kCapacityExceeded, "payload of " + std::to_string(data.size()) + " bytes is too large",
                data.size(), kMaxStoredBytes);
  }
  PackedPayload packed;
  packed.data_bytes = data.size();
  packed.body = BuildRecord(options, data);
  packed.raw_size = static_cast<uint32_t>(packed.body.size());
  if (std::vector<uint8_t> deflated = DeflateIfSmaller(packed.body); !deflated.empty()) {
    packed.body = std::move(deflated);
    packed.compressed = true;
  }
  packed.options = std::move(options);
  return packed;
}

Result<void> CheckOutputLimit(uint32_t raw_size, size_t max_data_bytes) {
  if (raw_size <= max_data_bytes || raw_size - max_data_bytes <= kMaxRecordOverhead) return {};
  return Fail(ErrorCode::kOutputTooLarge, "payload unpacks to " + std::to_string(raw_size) +
                                              " bytes; the limit is " + std::to_string(max_data_bytes));
}

Result<Unpacked> Unpack(std::span<const uint8_t> body, bool compressed, uint32_t raw_size, size_t max_data_bytes) {
  std::vector<uint8_t> inflated;
  std::span<const uint8_t> record = body;
  if (compressed) {
    Result<std::vector<uint8_t>> result = Inflate(body, raw_size);
    if (!result) return common::Unexpected{result.error()};
    inflated = std::move(*result);
    record = inflated;
  } else if (body.size() != raw_size) {
    return Fail(ErrorCode::kCorruptPayload, "payload size disagrees with its header");
  }
  Result<Unpacked> unpacked = ParseRecord(record);
  if (unpacked && unpacked->data.size() > max_data_bytes) {
    return Fail(ErrorCode::kOutputTooLarge, "payload of " + std::to_string(unpacked->data.size()) +
                                                " bytes exceeds the limit of " + std::to_string(max_data_bytes));
  }
  return unpacked;
}

}  // namespace stego
