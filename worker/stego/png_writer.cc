#include "worker/stego/png_writer.h"

#include <libdeflate.h>
#include <zlib.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <utility>

#include "worker/stego/huffman_deflate.h"
#include "worker/stego/parallel.h"

namespace stego {

// A band of rows as one framed IDAT chunk: [length, "IDAT", zlib header (first band only), deflate
// data, CRC], and what the stream's Adler-32 needs of it.
struct PngTemplate::Band {
  std::unique_ptr<uint8_t[]> chunk;  // left uninitialised where deflate did not write
  size_t chunk_size = 0;
  uint32_t adler = 1;  // Adler-32 of the band's filtered bytes
  size_t filtered_bytes = 0;
};

namespace {

using Band = PngTemplate::Band;

constexpr std::array<uint8_t, 8> kSignature = {137, 80, 78, 71, 13, 10, 26, 10};
constexpr uint8_t kPaethFilter = 4;
// A band smaller than this is not worth a thread: deflate's set-up and the sync flush would dominate.
constexpr size_t kMinBandBytes = 256 * 1024;
// A template's bands: small, so that an embed re-deflates few rows beyond those it changed.
constexpr int kTemplateBandRows = 16;
// Rows are filtered into a buffer of about this size, small enough to stay in cache for deflate.
constexpr size_t kFilterChunkBytes = 64 * 1024;
// Chunk framing around a band's deflate data: length + type before, CRC after.
constexpr size_t kChunkHead = 8;
constexpr size_t kChunkTail = 4;

// How a band's filtered rows are deflated.
enum class Deflate {
  // HuffmanDeflater (literals only): filtered photographs and payload bits have few matches worth
  // a search. A band whose first rows are mostly zero after filtering (flat areas, graphics) has
  // long runs, which literals cannot shrink below a bit a byte: it goes to zlib's run-length
  // strategy instead.
  kFast,
  // zlib at its best level, for a template's bands that compress well: the cost is paid once, and a
  // smooth cover's PNG comes out several times smaller.
  kThorough,
};

void PutBe32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

// Frames `data_size` bytes already at chunk + kChunkHead as a chunk of `type`.
void FrameChunk(uint8_t* chunk, const char* type, size_t data_size) {
  PutBe32(chunk, static_cast<uint32_t>(data_size));
  std::memcpy(chunk + 4, type, 4);
  PutBe32(chunk + kChunkHead + data_size, libdeflate_crc32(0, chunk + 4, 4 + data_size));
}

void AppendChunk(std::vector<uint8_t>& out, const char* type, const uint8_t* data, size_t size) {
  const size_t at = out.size();
  out.resize(at + kChunkHead + size + kChunkTail);
  if (size != 0) std::memcpy(out.data() + at + kChunkHead, data, size);
  FrameChunk(out.data() + at, type, size);
}

bool WellFormed(const Image& image) {
  return image.width > 0 && image.height > 0 && (image.channels == 1 || image.channels == 3 || image.channels == 4) &&
         image.pixels.size() == image.pixel_count() * static_cast<size_t>(image.channels);
}

// The rows a PNG is written from: `image`, with its first top->height rows taken from `top`.
class RowSource {
 public:
  RowSource(const Image& image, const Image* top)
      : image_(image), top_(top), stride_(static_cast<size_t>(image.width) * static_cast<size_t>(image.channels)) {}

  const Image& image() const { return image_; }
  size_t row_bytes() const { return stride_; }

  // Row y in PNG channel order: R,G,B(,A) where the image holds B,G,R(,A).
  void CopyInPngOrder(int y, uint8_t* dst) const {
    const bool from_top = top_ != nullptr && y < top_->height;
    const uint8_t* src = (from_top ? top_->pixels.data() : image_.pixels.data()) + static_cast<size_t>(y) * stride_;
    if (image_.channels == 1) {
      std::memcpy(dst, src, stride_);
      return;
    }
    const size_t channels = static_cast<size_t>(image_.channels);
    for (size_t i = 0; i < stride_; i += channels) {
      dst[i] = src[i + 2];
      dst[i + 1] = src[i + 1];
      dst[i + 2] = src[i];
      if (channels == 4) dst[i + 3] = src[i + 3];
    }
  }

 private:
  const Image& image_;
  const Image* top_;
  size_t stride_;
};

// The Paeth predictor of PNG (RFC 2083, 6.6) from the left (a), upper (b) and upper-left (c) bytes.
inline uint8_t Paeth(int a, int b, int c) {
  const int pa = std::abs(b - c), pb = std::abs(a - c), pc = std::abs(a + b - 2 * c);
  return static_cast<uint8_t>(pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
}

#if defined(__SSE2__)
// The Paeth prediction of 8 bytes at once in 16-bit lanes (SSE2, part of every x86-64): the scalar
// loop made the filter cost as much as deflate. Values stay in 0..255, so the final pack is exact.
inline __m128i Paeth8(__m128i a, __m128i b, __m128i c) {
  const __m128i zero = _mm_setzero_si128();
  const __m128i to_a = _mm_sub_epi16(b, c), to_b = _mm_sub_epi16(a, c), to_c = _mm_add_epi16(to_a, to_b);
  const __m128i pa = _mm_max_epi16(to_a, _mm_sub_epi16(zero, to_a));
  const __m128i pb = _mm_max_epi16(to_b, _mm_sub_epi16(zero, to_b));
  const __m128i pc = _mm_max_epi16(to_c, _mm_sub_epi16(zero, to_c));
  const __m128i not_a = _mm_or_si128(_mm_cmpgt_epi16(pa, pb), _mm_cmpgt_epi16(pa, pc));
  const __m128i c_over_b = _mm_cmpgt_epi16(pb, pc);
  const __m128i b_or_c = _mm_or_si128(_mm_and_si128(c_over_b, c), _mm_andnot_si128(c_over_b, b));
  return _mm_or_si128(_mm_and_si128(not_a, b_or_c), _mm_andnot_si128(not_a, a));
}
#endif

// One filtered scanline: the filter byte, then `cur` minus the Paeth prediction from its left
// neighbour, the byte above (`prev`) and the one above-left; bytes left of the row count as zero.
void PaethRow(const uint8_t* cur, const uint8_t* prev, size_t bytes, size_t bpp, uint8_t* dst) {
  *dst++ = kPaethFilter;
  for (size_t i = 0; i < bpp; ++i) dst[i] = static_cast<uint8_t>(cur[i] - prev[i]);  // Paeth(0, b, 0) == b
  size_t i = bpp;
#if defined(__SSE2__)
  const __m128i zero = _mm_setzero_si128();
  auto load = [](const uint8_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); };
  for (; i + 16 <= bytes; i += 16) {
    const __m128i a = load(cur + i - bpp), b = load(prev + i), c = load(prev + i - bpp);
    const __m128i low = Paeth8(_mm_unpacklo_epi8(a, zero), _mm_unpacklo_epi8(b, zero), _mm_unpacklo_epi8(c, zero));
    const __m128i high = Paeth8(_mm_unpackhi_epi8(a, zero), _mm_unpackhi_epi8(b, zero), _mm_unpackhi_epi8(c, zero));
    const __m128i filtered = _mm_sub_epi8(load(cur + i), _mm_packus_epi16(low, high));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), filtered);
  }
#endif
  for (; i < bytes; ++i) dst[i] = static_cast<uint8_t>(cur[i] - Paeth(cur[i - bpp], prev[i], prev[i - bpp]));
}

struct BandRows {
  int first_row = 0;
  int rows = 0;
  bool first = false;  // carries the zlib header
  bool last = false;   // ends the stream
};

// Filters a band's rows, a buffer of about kFilterChunkBytes at a time, and hands each buffer to
// `consume(bytes, size, last)`. Returns the band's Adler-32 and filtered size via `band`.
template <class Consume>
bool FilterBand(const RowSource& source, const BandRows& rows, Band& band, Consume&& consume) {
  const size_t row_bytes = source.row_bytes();
  const size_t filtered_row = 1 + row_bytes;
  const size_t bpp = static_cast<size_t>(source.image().channels);
  const int rows_per_chunk = static_cast<int>(std::max<size_t>(1, kFilterChunkBytes / filtered_row));
  auto filtered = std::make_unique<uint8_t[]>(filtered_row * static_cast<size_t>(rows_per_chunk));
  auto prev = std::make_unique<uint8_t[]>(row_bytes);  // zeros above the first row
  auto cur = std::make_unique<uint8_t[]>(row_bytes);
  if (rows.first_row > 0) source.CopyInPngOrder(rows.first_row - 1, prev.get());
  for (int row = rows.first_row, end = rows.first_row + rows.rows; row < end;) {
    const int n = std::min(rows_per_chunk, end - row);
    for (int i = 0; i < n; ++i, ++row) {
      source.CopyInPngOrder(row, cur.get());
      PaethRow(cur.get(), prev.get(), row_bytes, bpp, filtered.get() + static_cast<size_t>(i) * filtered_row);
      std::swap(cur, prev);
    }
    const size_t size = static_cast<size_t>(n) * filtered_row;
    band.adler = libdeflate_adler32(band.adler, filtered.get(), size);
    band.filtered_bytes += size;
    if (!consume(filtered.get(), size, row == end)) return false;
  }
  return true;
}

// The chunk's data area, with the zlib header written when the band starts the stream.
size_t StartChunk(Band& band, const BandRows& rows, size_t capacity) {
  band.chunk.reset(new uint8_t[capacity]);
  if (!rows.first) return 0;
  uint8_t* data = band.chunk.get() + kChunkHead;  // zlib header: deflate, 32 KiB window
  data[0] = 0x78;
  data[1] = 0x01;  // (0x78 << 8 | 0x01) % 31 == 0
  return 2;
}

Band FinishChunk(Band band, size_t data_size) {
  FrameChunk(band.chunk.get(), "IDAT", data_size);
  band.chunk_size = kChunkHead + data_size + kChunkTail;
  return band;
}

size_t FilteredBytes(const RowSource& source, const BandRows& rows) {
  return (1 + source.row_bytes()) * static_cast<size_t>(rows.rows);
}

Band EncodeBandWithZlib(const RowSource& source, const BandRows& rows, int level, int strategy) {
  Band band;
  // deflateBound covers a single finished stream; the slack covers the sync flush's empty block.
  const size_t capacity = kChunkHead + 2 + deflateBound(nullptr, static_cast<uLong>(FilteredBytes(source, rows))) + 64 + kChunkTail;
  const size_t header = StartChunk(band, rows, capacity);
  z_stream zs{};
  // Raw deflate: the band is part of one zlib stream whose header and trailer are written apart.
  if (deflateInit2(&zs, level, Z_DEFLATED, -15, 8, strategy) != Z_OK) return {};
  zs.next_out = band.chunk.get() + kChunkHead + header;
  zs.avail_out = static_cast<uInt>(capacity - kChunkHead - kChunkTail - header);
  const bool ok = FilterBand(source, rows, band, [&](uint8_t* bytes, size_t size, bool last_chunk) {
    zs.next_in = bytes;
    zs.avail_in = static_cast<uInt>(size);
    const int flush = !last_chunk ? Z_NO_FLUSH : rows.last ? Z_FINISH : Z_SYNC_FLUSH;
    const int status = deflate(&zs, flush);
    // Out of room is never expected: the buffer is sized by deflateBound.
    return (flush == Z_FINISH ? status == Z_STREAM_END : status == Z_OK) && zs.avail_in == 0 && zs.avail_out != 0;
  });
  deflateEnd(&zs);
  return ok ? FinishChunk(std::move(band), header + zs.total_out) : Band{};
}

// Whether the filtered bytes are mostly zero: runs, which literals code poorly.
bool MostlyZero(const uint8_t* bytes, size_t size) {
  return static_cast<size_t>(std::count(bytes, bytes + size, uint8_t{0})) * 3 > size * 2;
}

Band EncodeBandFast(const RowSource& source, const BandRows& rows) {
  Band band;
  const size_t header = StartChunk(band, rows, kChunkHead + 2 + MaxDeflatedBytes(FilteredBytes(source, rows)) + kChunkTail);
  HuffmanDeflater deflater(band.chunk.get() + kChunkHead + header);
  bool first_chunk = true, runs = false;
  FilterBand(source, rows, band, [&](uint8_t* bytes, size_t size, bool last_chunk) {
    runs = first_chunk && MostlyZero(bytes, size);
    first_chunk = false;
    if (runs) return false;  // stop: zlib takes the band
    deflater.Write({bytes, size}, last_chunk && rows.last);
    return true;
  });
  if (runs) return EncodeBandWithZlib(source, rows, 1, Z_RLE);
  if (!rows.last) deflater.SyncFlush();
  return FinishChunk(std::move(band), header + deflater.Finish());
}

// Filters and deflates one band; an empty Band (chunk_size 0) if zlib failed. Runs on any thread.
Band EncodeBand(const RowSource& source, const BandRows& rows, Deflate deflate_as) {
  return deflate_as == Deflate::kFast ? EncodeBandFast(source, rows) : EncodeBandWithZlib(source, rows, 9, Z_DEFAULT_STRATEGY);
}

// Cuts the image into bands of `rows_per_band` rows (the last may be shorter).
std::vector<BandRows> CutBands(int height, int rows_per_band) {
  std::vector<BandRows> bands;
  for (int row = 0; row < height; row += rows_per_band) {
    bands.push_back({row, std::min(rows_per_band, height - row), row == 0, false});
  }
  bands.back().last = true;
  return bands;
}

int RowsPerBand(const Image& image, int requested) {
  const size_t row_bytes = 1 + static_cast<size_t>(image.width) * static_cast<size_t>(image.channels);
  const size_t total = row_bytes * static_cast<size_t>(image.height);
  // Several bands per core: a helper thread that gets descheduled then holds back only a small band.
  // More bands cost next to nothing (on a noisy 1080p cover, 32 bands add 0.02% to the size).
  size_t count = requested > 0 ? static_cast<size_t>(requested)
                               : std::min<size_t>(4 * static_cast<size_t>(ParallelismDegree()), total / kMinBandBytes);
  count = std::clamp<size_t>(count, 1, static_cast<size_t>(image.height));
  return static_cast<int>((static_cast<size_t>(image.height) + count - 1) / count);
}

std::array<uint8_t, 13> Ihdr(const Image& image) {
  static constexpr std::array<uint8_t, 5> kColourType = {0, 0, 0, 2, 6};  // by channel count
  std::array<uint8_t, 13> ihdr{};
  PutBe32(ihdr.data(), static_cast<uint32_t>(image.width));
  PutBe32(ihdr.data() + 4, static_cast<uint32_t>(image.height));
  ihdr[8] = 8;  // bit depth; compression, filter method and interlace stay 0
  ihdr[9] = kColourType[static_cast<size_t>(image.channels)];
  return ihdr;
}

// The PNG file: signature, header, the bands' IDAT chunks in order, the stream's Adler-32, end.
Result<std::vector<uint8_t>> Assemble(const Image& image, const std::vector<const Band*>& bands) {
  size_t idat_bytes = 0;
  for (const Band* band : bands) {
    if (band->chunk_size == 0) return Fail(ErrorCode::kInternal, "zlib failed to deflate a PNG band");
    idat_bytes += band->chunk_size;
  }
  constexpr size_t kFraming = kSignature.size() + 3 * (kChunkHead + kChunkTail) + 13 + 4;  // IHDR, trailer, IEND

  std::vector<uint8_t> png;
  png.reserve(kFraming + idat_bytes);
  png.insert(png.end(), kSignature.begin(), kSignature.end());
  const std::array<uint8_t, 13> ihdr = Ihdr(image);
  AppendChunk(png, "IHDR", ihdr.data(), ihdr.size());
  uint32_t adler = bands.front()->adler;
  for (size_t i = 0; i < bands.size(); ++i) {
    png.insert(png.end(), bands[i]->chunk.get(), bands[i]->chunk.get() + bands[i]->chunk_size);
    if (i > 0) adler = adler32_combine(adler, bands[i]->adler, static_cast<z_off_t>(bands[i]->filtered_bytes));
  }
  std::array<uint8_t, 4> trailer;  // the zlib stream's Adler-32, in its own IDAT chunk
  PutBe32(trailer.data(), adler);
  AppendChunk(png, "IDAT", trailer.data(), trailer.size());
  AppendChunk(png, "IEND", nullptr, 0);
  return png;
}

Result<void> CheckEncodable(const Image& image) {
  if (WellFormed(image)) return {};
  return Fail(ErrorCode::kInvalidArgument, "PNG writer needs a non-empty 8-bit gray, BGR or BGRA image");
}

}  // namespace

Result<std::vector<uint8_t>> WritePng(const Image& image, const PngOptions& options) {
  if (Result<void> ok = CheckEncodable(image); !ok) return common::Unexpected{ok.error()};
  const RowSource source(image, nullptr);
  const std::vector<BandRows> rows = CutBands(image.height, RowsPerBand(image, options.bands));
  std::vector<Band> bands(rows.size());
  ParallelFor(rows.size(), [&](size_t i) { bands[i] = EncodeBand(source, rows[i], Deflate::kFast); });
  std::vector<const Band*> order;
  for (const Band& band : bands) order.push_back(&band);
  return Assemble(image, order);
}

PngTemplate::PngTemplate(std::shared_ptr<const Image> image, int rows_per_band,
                         std::vector<std::shared_ptr<const Band>> bands)
    : image_(std::move(image)), rows_per_band_(rows_per_band), bands_(std::move(bands)) {}

Result<PngTemplate> PngTemplate::Prepare(std::shared_ptr<const Image> image) {
  if (!image) return Fail(ErrorCode::kInvalidArgument, "PNG template needs an image");
  if (Result<void> ok = CheckEncodable(*image); !ok) return common::Unexpected{ok.error()};
  const RowSource source(*image, nullptr);
  const std::vector<BandRows> rows = CutBands(image->height, kTemplateBandRows);
  std::vector<std::shared_ptr<const Band>> bands(rows.size());
  ParallelFor(rows.size(), [&](size_t i) {
    Band band = EncodeBand(source, rows[i], Deflate::kFast);
    // Noise (a photograph's grain) does not shrink further; smooth areas do, by several times.
    if (band.chunk_size != 0 && band.chunk_size < band.filtered_bytes / 4) {
      Band thorough = EncodeBand(source, rows[i], Deflate::kThorough);
      if (thorough.chunk_size != 0 && thorough.chunk_size < band.chunk_size) band = std::move(thorough);
    }
    bands[i] = std::make_shared<const Band>(std::move(band));
  });
  for (const auto& band : bands) {
    if (band->chunk_size == 0) return Fail(ErrorCode::kInternal, "zlib failed to deflate a PNG band");
  }
  return PngTemplate(std::move(image), kTemplateBandRows, std::move(bands));
}

Result<std::vector<uint8_t>> PngTemplate::Write(const Image& top) const {
  if (top.width != image_->width || top.channels != image_->channels || top.height > image_->height ||
      top.pixels.size() != top.pixel_count() * static_cast<size_t>(top.channels)) {
    return Fail(ErrorCode::kInvalidArgument, "the changed rows do not fit the PNG template's image");
  }
  const RowSource source(*image_, &top);
  const std::vector<BandRows> rows = CutBands(image_->height, rows_per_band_);
  // A band is written anew when it holds a changed row, or when the row above it changed: Paeth
  // predicts a band's first row from the row above.
  const size_t changed = top.height == 0 ? 0 : std::min(rows.size(), static_cast<size_t>(top.height / rows_per_band_) + 1);
  std::vector<Band> fresh(changed);
  ParallelFor(changed, [&](size_t i) { fresh[i] = EncodeBand(source, rows[i], Deflate::kFast); });
  std::vector<const Band*> order;
  for (size_t i = 0; i < rows.size(); ++i) order.push_back(i < changed ? &fresh[i] : bands_[i].get());
  return Assemble(*image_, order);
}

}  // namespace stego
