#include "worker/stego/huffman_deflate.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

namespace stego {
namespace {

constexpr int kSymbols = 257;  // the 256 byte values and the end of block
constexpr int kEndOfBlock = 256;
constexpr int kMaxCodeBits = 15;        // deflate's limit for literal/length codes
constexpr int kMaxCodeLengthBits = 7;   // and for the code that codes their lengths
constexpr int kCodeLengthSymbols = 19;  // 0-15 are lengths; 16-18 (runs) are not used here
constexpr std::array<uint8_t, kCodeLengthSymbols> kCodeLengthOrder = {16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
                                                                      11, 4,  12, 3, 13, 2, 14, 1, 15};
constexpr size_t kMaxStoredBlock = 65535;

// Huffman code lengths for symbols [0, n) of frequencies `freq`, none longer than `max_bits`; unused
// symbols get 0. At least two symbols get a code, since a decoder (zlib) rejects an incomplete code.
// Over-long codes are avoided by halving the frequencies and building again: simple, and the loss
// against an optimal length-limited code is negligible for the data this sees.
void BuildLengths(const uint32_t* freq, int n, int max_bits, uint8_t* lengths) {
  std::vector<uint64_t> weight(freq, freq + n);
  int used = static_cast<int>(std::count_if(weight.begin(), weight.end(), [](uint64_t w) { return w != 0; }));
  for (int s = 0; s < n && used < 2; ++s) {
    if (weight[static_cast<size_t>(s)] == 0) weight[static_cast<size_t>(s)] = 1, ++used;
  }
  for (;;) {
    std::vector<int> leaves;
    for (int s = 0; s < n; ++s) {
      if (weight[static_cast<size_t>(s)] != 0) leaves.push_back(s);
    }
    std::stable_sort(leaves.begin(), leaves.end(),
                     [&](int a, int b) { return weight[static_cast<size_t>(a)] < weight[static_cast<size_t>(b)]; });
    // Two-queue Huffman: nodes [0, m) are the sorted leaves, [m, 2m-1) the merges in creation order,
    // whose weights never decrease, so the two lightest nodes are always at the queues' fronts.
    const size_t m = leaves.size();
    std::vector<uint64_t> node_weight(2 * m - 1);
    std::vector<size_t> parent(2 * m - 1, 0);
    for (size_t i = 0; i < m; ++i) node_weight[i] = weight[static_cast<size_t>(leaves[i])];
    size_t next_leaf = 0, next_merge = m;
    auto take_lightest = [&](size_t created) {
      const bool leaf = next_leaf < m && (next_merge >= created || node_weight[next_leaf] <= node_weight[next_merge]);
      return leaf ? next_leaf++ : next_merge++;
    };
    for (size_t created = m; created < 2 * m - 1; ++created) {
      const size_t a = take_lightest(created), b = take_lightest(created);
      node_weight[created] = node_weight[a] + node_weight[b];
      parent[a] = parent[b] = created;
    }
    std::vector<int> depth(2 * m - 1, 0);
    for (size_t i = 2 * m - 1; i-- > 0;) depth[i] = i == 2 * m - 2 ? 0 : depth[parent[i]] + 1;
    if (*std::max_element(depth.begin(), depth.begin() + static_cast<std::ptrdiff_t>(m)) <= max_bits) {
      std::fill(lengths, lengths + n, 0);
      for (size_t i = 0; i < m; ++i) lengths[leaves[i]] = static_cast<uint8_t>(depth[i]);
      return;
    }
    for (uint64_t& w : weight) w = w == 0 ? 0 : (w + 1) / 2;
  }
}

// Canonical codes for the lengths (RFC 1951, 3.2.2), bit-reversed: deflate sends a code's most
// significant bit first, into a stream that is filled from each byte's least significant bit.
void CanonicalCodes(const uint8_t* lengths, int n, uint16_t* codes) {
  std::array<int, kMaxCodeBits + 1> count{};
  for (int s = 0; s < n; ++s) ++count[lengths[s]];
  count[0] = 0;
  std::array<int, kMaxCodeBits + 2> next{};
  for (int bits = 1, code = 0; bits <= kMaxCodeBits; ++bits) {
    code = (code + count[static_cast<size_t>(bits - 1)]) << 1;
    next[static_cast<size_t>(bits)] = code;
  }
  for (int s = 0; s < n; ++s) {
    const int length = lengths[s];
    if (length == 0) continue;
    const int code = next[static_cast<size_t>(length)]++;
    int reversed = 0;
    for (int i = 0; i < length; ++i) reversed |= ((code >> i) & 1) << (length - 1 - i);
    codes[s] = static_cast<uint16_t>(reversed);
  }
}

// The code lengths a block's header sends: the 257 literal codes, then the one distance code
// (a single code of length 1: "no distances used", in the form zlib accepts).
std::array<uint8_t, kSymbols + 1> HeaderLengths(const uint8_t* literal_lengths) {
  std::array<uint8_t, kSymbols + 1> all;
  std::copy(literal_lengths, literal_lengths + kSymbols, all.begin());
  all[kSymbols] = 1;
  return all;
}

}  // namespace

size_t MaxDeflatedBytes(size_t input_bytes) {
  // A block is stored when Huffman coding would not shrink it: 5 bytes per 64 KiB stored, 1 for
  // alignment, per block; the sync flush's 5 and a final partial byte on top.
  const size_t blocks = input_bytes / HuffmanDeflater::kMinBlockBytes + 2;
  return input_bytes + blocks * (5 * (HuffmanDeflater::kMinBlockBytes / kMaxStoredBlock + 2) + 1) + 16;
}

void HuffmanDeflater::Bits(uint64_t value, int count) {
  bit_buffer_ |= value << bit_count_;
  bit_count_ += count;
  if (bit_count_ >= 32) {
    for (int i = 0; i < 4; ++i) out_[written_++] = static_cast<uint8_t>(bit_buffer_ >> (8 * i));
    bit_buffer_ >>= 32;
    bit_count_ -= 32;
  }
}

void HuffmanDeflater::AlignToByte() {
  if (bit_count_ % 8 != 0) Bits(0, 8 - bit_count_ % 8);
  for (; bit_count_ > 0; bit_count_ -= 8, bit_buffer_ >>= 8) out_[written_++] = static_cast<uint8_t>(bit_buffer_);
}

void HuffmanDeflater::Write(std::span<const uint8_t> data, bool final) {
  // Four sets of counters: filtered rows repeat a few values, and one set alone would make each
  // increment wait for the previous one to the same counter.
  std::array<std::array<uint32_t, 256>, 4> partial{};
  size_t i = 0;
  for (; i + 4 <= data.size(); i += 4) {
    for (size_t k = 0; k < 4; ++k) ++partial[k][data[i + k]];
  }
  for (; i < data.size(); ++i) ++partial[0][data[i]];
  std::array<uint32_t, kSymbols> freq{};
  for (size_t v = 0; v < 256; ++v) freq[v] = partial[0][v] + partial[1][v] + partial[2][v] + partial[3][v];
  freq[kEndOfBlock] = 1;
  std::array<uint8_t, kSymbols> lengths;
  BuildLengths(freq.data(), kSymbols, kMaxCodeBits, lengths.data());
  std::array<uint16_t, kSymbols> codes{};
  CanonicalCodes(lengths.data(), kSymbols, codes.data());

  uint64_t huffman_bits = 3 + 14 + 3 * kCodeLengthSymbols + 7 * (kSymbols + 1);  // header, at most
  for (int s = 0; s < kSymbols; ++s) huffman_bits += uint64_t{freq[static_cast<size_t>(s)]} * lengths[static_cast<size_t>(s)];
  const uint64_t stored_bits = 8 * (data.size() + 5 * (data.size() / kMaxStoredBlock + 1) + 1);
  if (huffman_bits < stored_bits) {
    HuffmanBlock(data, final, lengths.data(), codes.data());
  } else {
    StoredBlocks(data, final);
  }
}

void HuffmanDeflater::HuffmanBlock(std::span<const uint8_t> data, bool final, const uint8_t* lengths,
                                   const uint16_t* codes) {
  const std::array<uint8_t, kSymbols + 1> header_lengths = HeaderLengths(lengths);
  std::array<uint32_t, kCodeLengthSymbols> length_freq{};
  for (uint8_t length : header_lengths) ++length_freq[length];
  std::array<uint8_t, kCodeLengthSymbols> length_lengths;
  BuildLengths(length_freq.data(), kCodeLengthSymbols, kMaxCodeLengthBits, length_lengths.data());
  std::array<uint16_t, kCodeLengthSymbols> length_codes{};
  CanonicalCodes(length_lengths.data(), kCodeLengthSymbols, length_codes.data());
  int sent_lengths = kCodeLengthSymbols;  // trailing zero lengths (in the permuted order) are not sent
  while (sent_lengths > 4 && length_lengths[kCodeLengthOrder[static_cast<size_t>(sent_lengths - 1)]] == 0) --sent_lengths;

  Bits(final ? 1 : 0, 1);
  Bits(2, 2);                         // dynamic Huffman codes
  Bits(kSymbols - 257, 5);            // HLIT
  Bits(0, 5);                         // HDIST: one distance code
  Bits(static_cast<uint64_t>(sent_lengths - 4), 4);  // HCLEN
  for (int i = 0; i < sent_lengths; ++i) Bits(length_lengths[kCodeLengthOrder[static_cast<size_t>(i)]], 3);
  for (uint8_t length : header_lengths) Bits(length_codes[length], length_lengths[length]);

  // The hot loop: local copies of the bit buffer, 32 bits stored at a time.
  uint64_t buffer = bit_buffer_;
  int count = bit_count_;
  uint8_t* out = out_ + written_;
  for (uint8_t b : data) {
    buffer |= uint64_t{codes[b]} << count;
    count += lengths[b];
    if (count >= 32) {
      for (int i = 0; i < 4; ++i) *out++ = static_cast<uint8_t>(buffer >> (8 * i));
      buffer >>= 32;
      count -= 32;
    }
  }
  written_ = static_cast<size_t>(out - out_);
  bit_buffer_ = buffer;
  bit_count_ = count;
  Bits(codes[kEndOfBlock], lengths[kEndOfBlock]);
}

void HuffmanDeflater::StoredBlocks(std::span<const uint8_t> data, bool final) {
  do {
    const size_t size = std::min(data.size(), kMaxStoredBlock);
    Bits(final && size == data.size() ? 1 : 0, 1);
    Bits(0, 2);  // stored
    AlignToByte();
    const uint8_t header[4] = {static_cast<uint8_t>(size), static_cast<uint8_t>(size >> 8),
                               static_cast<uint8_t>(~size), static_cast<uint8_t>(~size >> 8)};
    std::memcpy(out_ + written_, header, 4);
    if (size != 0) std::memcpy(out_ + written_ + 4, data.data(), size);
    written_ += 4 + size;
    data = data.subspan(size);
  } while (!data.empty());
}

void HuffmanDeflater::SyncFlush() { StoredBlocks({}, false); }

size_t HuffmanDeflater::Finish() {
  AlignToByte();
  return written_;
}

}  // namespace stego
