// A deflate (RFC 1951) writer that codes every byte as a literal with a Huffman code fitted to each
// block: no match search at all. Filtered photographs and embedded payload bits (what the PNG writer
// feeds it) have few matches worth finding, so this is about as small as zlib's run-length strategy
// there, at several times the speed: a byte costs a table look-up and a shift.
//
// The caller owns the output buffer; MaxDeflatedBytes bounds what any input can take.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace stego {

// The most bytes HuffmanDeflater writes for `input_bytes` of input in any number of blocks of at
// least kMinBlockBytes (blocks that would not shrink are stored), a sync flush included.
size_t MaxDeflatedBytes(size_t input_bytes);

class HuffmanDeflater {
 public:
  // Blocks are cut at least this long so their Huffman tables (about 100 bytes) pay off.
  static constexpr size_t kMinBlockBytes = 16 * 1024;

  // Writes raw deflate data (no zlib header) from out[0].
  explicit HuffmanDeflater(uint8_t* out) : out_(out) {}

  // Codes `data` as one or more blocks; `final` marks the last block of the stream.
  void Write(std::span<const uint8_t> data, bool final);

  // Ends the data so far on a byte boundary with an empty non-final stored block (zlib's
  // Z_SYNC_FLUSH), so that another deflate stream's blocks can follow byte for byte.
  void SyncFlush();

  // Pads the last byte after a final block. Returns the bytes written.
  size_t Finish();

 private:
  void Bits(uint64_t value, int count);
  void AlignToByte();
  void HuffmanBlock(std::span<const uint8_t> data, bool final, const uint8_t* lengths, const uint16_t* codes);
  void StoredBlocks(std::span<const uint8_t> data, bool final);

  uint8_t* out_;
  size_t written_ = 0;
  uint64_t bit_buffer_ = 0;
  int bit_count_ = 0;
};

}  // namespace stego
