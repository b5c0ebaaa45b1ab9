#include "worker/stego/probe.h"

#include <libdeflate.h>

#include <climits>
#include <cstring>
#include <string>
#include <string_view>

namespace stego {
namespace {

// The file, with reads that callers bounds-check first through Has().
class Bytes {
 public:
  explicit Bytes(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  size_t size() const { return bytes_.size(); }
  bool Has(uint64_t offset, uint64_t count) const { return offset <= size() && count <= size() - offset; }
  bool Matches(size_t offset, std::string_view text) const {
    return Has(offset, text.size()) && std::memcmp(bytes_.data() + offset, text.data(), text.size()) == 0;
  }
  const uint8_t* At(size_t offset) const { return bytes_.data() + offset; }

  uint8_t U8(size_t at) const { return bytes_[at]; }
  uint16_t Be16(size_t at) const { return static_cast<uint16_t>(U8(at) << 8 | U8(at + 1)); }
  uint16_t Le16(size_t at) const { return static_cast<uint16_t>(U8(at + 1) << 8 | U8(at)); }
  uint32_t Be32(size_t at) const { return uint32_t{Be16(at)} << 16 | Be16(at + 2); }
  uint32_t Le32(size_t at) const { return uint32_t{Le16(at + 2)} << 16 | Le16(at); }
  uint32_t Le24(size_t at) const { return uint32_t{U8(at + 2)} << 16 | Le16(at); }
  uint16_t U16(size_t at, bool big) const { return big ? Be16(at) : Le16(at); }
  uint32_t U32(size_t at, bool big) const { return big ? Be32(at) : Le32(at); }

 private:
  std::span<const uint8_t> bytes_;
};

common::Unexpected<Error> Refuse(ImageFormat format, const std::string& why) {
  std::string name(FormatName(format));
  for (char& c : name) c = static_cast<char>(c - ('a' - 'A'));
  return Fail(ErrorCode::kUnsupportedImage, name + " image refused: " + why);
}

Result<ImageInfo> Checked(ImageInfo info, uint64_t width, uint64_t height) {
  if (width == 0 || height == 0 || width > INT_MAX || height > INT_MAX) {
    return Refuse(info.format, "declared size " + std::to_string(width) + "x" + std::to_string(height) +
                                   " is not a valid image size");
  }
  info.width = static_cast<int>(width);
  info.height = static_cast<int>(height);
  return info;
}

// PNG: IHDR first; every chunk inside the file; CRCs checked on all chunks but the (large) IDATs,
// whose CRCs libpng checks while decoding; at least one IDAT and a closing IEND.
Result<ImageInfo> ProbePng(const Bytes& b) {
  ImageInfo info{ImageFormat::kPng};
  uint64_t width = 0, height = 0;
  uint8_t colour_type = 0;
  bool seen_ihdr = false, seen_idat = false, transparency = false;
  for (size_t at = 8;;) {
    if (!b.Has(at, 8)) return Refuse(info.format, "file ends before the IEND chunk (truncated)");
    const uint32_t length = b.Be32(at);
    if (length > 0x7FFFFFFFu || !b.Has(at + 8, uint64_t{length} + 4)) {
      return Refuse(info.format, "a chunk runs past the end of the file (truncated)");
    }
    const std::string_view type(reinterpret_cast<const char*>(b.At(at + 4)), 4);
    for (char c : type) {
      if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) return Refuse(info.format, "malformed chunk type");
    }
    if (!seen_ihdr && type != "IHDR") return Refuse(info.format, "first chunk is not IHDR");
    if (type != "IDAT" && libdeflate_crc32(0, b.At(at + 4), 4 + size_t{length}) != b.Be32(at + 8 + length)) {
      return Refuse(info.format, "chunk " + std::string(type) + " has a bad CRC");
    }
    const size_t data = at + 8;
    if (type == "IHDR") {
      if (seen_ihdr || length != 13) return Refuse(info.format, "malformed IHDR chunk");
      seen_ihdr = true;
      width = b.Be32(data);
      height = b.Be32(data + 4);
      const uint8_t depth = b.U8(data + 8);
      colour_type = b.U8(data + 9);
      const bool valid_depth =
          (colour_type == 0 && (depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16)) ||
          (colour_type == 3 && (depth == 1 || depth == 2 || depth == 4 || depth == 8)) ||
          ((colour_type == 2 || colour_type == 4 || colour_type == 6) && (depth == 8 || depth == 16));
      if (!valid_depth || b.U8(data + 10) != 0 || b.U8(data + 11) != 0 || b.U8(data + 12) > 1) {
        return Refuse(info.format, "invalid IHDR fields");
      }
    } else if (type == "tRNS") {
      transparency = true;
    } else if (type == "IDAT") {
      seen_idat = true;
    } else if (type == "IEND") {
      break;
    }
    at = data + length + 4;
  }
  if (!seen_idat) return Refuse(info.format, "no IDAT chunk");
  // OpenCV decodes gray+alpha to BGRA, and palette or RGB with tRNS to BGRA; gray stays gray.
  info.colour_channels = colour_type == 0 ? 1 : 3;
  info.has_alpha = colour_type == 4 || colour_type == 6 || (transparency && colour_type != 0);
  return Checked(info, width, height);
}

// OpenCV decodes a palette image to gray when every palette entry is gray.
bool GrayPalette(const Bytes& b, size_t at, size_t entries, size_t entry_size) {
  for (size_t i = 0; i < entries; ++i, at += entry_size) {
    if (b.U8(at) != b.U8(at + 1) || b.U8(at + 1) != b.U8(at + 2)) return false;
  }
  return true;
}

Result<ImageInfo> ProbeBmp(const Bytes& b) {
  ImageInfo info{ImageFormat::kBmp};
  if (!b.Has(0, 18)) return Refuse(info.format, "truncated header");
  const uint32_t header_size = b.Le32(14);
  int64_t width = 0, height = 0;
  unsigned bits = 0, compression = 0;
  uint64_t palette_entries = 0;
  size_t entry_size = 4;
  if (header_size == 12) {  // OS/2 BITMAPCOREHEADER
    if (!b.Has(14, 12)) return Refuse(info.format, "truncated header");
    width = b.Le16(18);
    height = b.Le16(20);
    bits = b.Le16(24);
    entry_size = 3;
  } else if (header_size >= 40 && header_size <= 124) {
    if (!b.Has(14, 40)) return Refuse(info.format, "truncated header");
    width = static_cast<int32_t>(b.Le32(18));
    height = static_cast<int32_t>(b.Le32(22));  // negative: rows stored top-down
    bits = b.Le16(28);
    compression = b.Le32(30);
    palette_entries = b.Le32(46);
  } else {
    return Refuse(info.format, "unknown header size " + std::to_string(header_size));
  }
  if (height < 0) height = -height;
  const bool known_bits = bits == 1 || bits == 4 || bits == 8 || bits == 16 || bits == 24 || bits == 32;
  const bool known_compression = compression == 0 || (compression == 1 && bits == 8) ||
                                 (compression == 2 && bits == 4) || (compression == 3 && (bits == 16 || bits == 32));
  if (!known_bits || !known_compression) {
    return Refuse(info.format, "unsupported pixel format (" + std::to_string(bits) + " bits, compression " +
                                   std::to_string(compression) + ")");
  }
  if (width <= 0 || height == 0) return Checked(info, 0, 0);
  const uint64_t data_offset = b.Le32(10);
  const uint64_t stride = (static_cast<uint64_t>(width) * bits + 31) / 32 * 4;
  if (compression != 1 && compression != 2 && !b.Has(data_offset, stride * static_cast<uint64_t>(height))) {
    return Refuse(info.format, "pixel data runs past the end of the file (truncated)");
  }
  info.colour_channels = 3;
  if (bits <= 8) {
    const uint64_t max_entries = uint64_t{1} << bits;
    if (palette_entries == 0 || palette_entries > max_entries) palette_entries = max_entries;
    const size_t palette_at = 14 + header_size;
    if (!b.Has(palette_at, palette_entries * entry_size)) return Refuse(info.format, "truncated palette");
    if (GrayPalette(b, palette_at, palette_entries, entry_size)) info.colour_channels = 1;
  }
  info.has_alpha = bits == 32 && compression == 3;
  return Checked(info, static_cast<uint64_t>(width), static_cast<uint64_t>(height));
}

// JPEG: walks the marker segments up to the first scan; the frame header (SOFn) must come before it.
Result<ImageInfo> ProbeJpeg(const Bytes& b) {
  ImageInfo info{ImageFormat::kJpeg};
  bool seen_frame = false;
  uint64_t width = 0, height = 0;
  for (size_t at = 2;;) {
    while (b.Has(at, 1) && b.U8(at) != 0xFF) ++at;  // stray bytes between segments: libjpeg skips them too
    if (!b.Has(at, 2)) return Refuse(info.format, "file ends before the first scan (truncated)");
    while (b.Has(at + 1, 2) && b.U8(at + 1) == 0xFF) ++at;  // fill bytes
    const uint8_t marker = b.U8(at + 1);
    at += 2;
    if (marker == 0x01 || marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7)) continue;  // no length
    if (marker == 0xD9) return Refuse(info.format, "image ends before its first scan");
    if (!b.Has(at, 2)) return Refuse(info.format, "truncated marker segment");
    const uint16_t length = b.Be16(at);
    if (length < 2 || !b.Has(at, length)) return Refuse(info.format, "marker segment runs past the end (truncated)");
    const bool frame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (frame) {
      if (length < 8) return Refuse(info.format, "malformed frame header");
      height = b.Be16(at + 3);  // 0 would mean "defined later by a DNL marker": refused by Checked
      width = b.Be16(at + 5);
      const uint8_t components = b.U8(at + 7);
      if (components != 1 && components != 3 && components != 4) {
        return Refuse(info.format, std::to_string(components) + " colour components");
      }
      info.colour_channels = components == 1 ? 1 : 3;  // CMYK decodes to BGR
      seen_frame = true;
    } else if (marker == 0xDA) {
      if (!seen_frame) return Refuse(info.format, "scan before the frame header");
      return Checked(info, width, height);
    }
    at += length;
  }
}

// WebP: RIFF container with one of the simple-lossy (VP8), lossless (VP8L) or extended (VP8X) headers.
Result<ImageInfo> ProbeWebp(const Bytes& b) {
  ImageInfo info{ImageFormat::kWebp};
  info.colour_channels = 3;
  if (!b.Has(0, 20)) return Refuse(info.format, "truncated header");
  if (uint64_t{b.Le32(4)} + 8 > b.size()) return Refuse(info.format, "RIFF size exceeds the file (truncated)");
  const uint32_t chunk_size = b.Le32(16);
  if (!b.Has(20, chunk_size)) return Refuse(info.format, "first chunk runs past the end (truncated)");
  if (b.Matches(12, "VP8 ")) {
    if (chunk_size < 10 || (b.U8(20) & 1) != 0 || !b.Matches(23, "\x9D\x01\x2A")) {
      return Refuse(info.format, "malformed VP8 frame header");
    }
    return Checked(info, b.Le16(26) & 0x3FFFu, b.Le16(28) & 0x3FFFu);
  }
  if (b.Matches(12, "VP8L")) {
    if (chunk_size < 5 || b.U8(20) != 0x2F) return Refuse(info.format, "malformed VP8L header");
    const uint32_t bits = b.Le32(21);
    if ((bits >> 29) != 0) return Refuse(info.format, "unknown VP8L version");
    info.has_alpha = ((bits >> 28) & 1) != 0;
    return Checked(info, (bits & 0x3FFFu) + 1, ((bits >> 14) & 0x3FFFu) + 1);
  }
  if (b.Matches(12, "VP8X")) {
    if (chunk_size < 10) return Refuse(info.format, "malformed VP8X header");
    const uint8_t flags = b.U8(20);
    if ((flags & 0x02) != 0) return Refuse(info.format, "animated WebP is not supported");
    info.has_alpha = (flags & 0x10) != 0;
    return Checked(info, uint64_t{b.Le24(24)} + 1, uint64_t{b.Le24(27)} + 1);
  }
  return Refuse(info.format, "unknown first chunk");
}

// TIFF: the first image file directory (the page OpenCV decodes). BigTIFF is not accepted.
Result<ImageInfo> ProbeTiff(const Bytes& b) {
  ImageInfo info{ImageFormat::kTiff};
  const bool big = b.U8(0) == 'M';
  if (b.U16(2, big) != 42) return Refuse(info.format, "BigTIFF and unknown TIFF versions are not supported");
  const uint32_t ifd = b.U32(4, big);
  if (!b.Has(ifd, 2)) return Refuse(info.format, "directory offset past the end of the file");
  const uint16_t entries = b.U16(ifd, big);
  if (entries == 0 || !b.Has(uint64_t{ifd} + 2, uint64_t{entries} * 12)) {
    return Refuse(info.format, "empty or truncated directory");
  }
  uint64_t width = 0, height = 0, samples = 1;
  int photometric = -1;
  for (size_t e = ifd + 2, end = e + size_t{entries} * 12; e < end; e += 12) {
    const uint16_t tag = b.U16(e, big), type = b.U16(e + 2, big);
    if (type != 3 && type != 4) continue;  // the tags read here are SHORT or LONG
    const uint32_t value = type == 3 ? b.U16(e + 8, big) : b.U32(e + 8, big);
    switch (tag) {
      case 256: width = value; break;
      case 257: height = value; break;
      case 262: photometric = static_cast<int>(value); break;
      case 277: samples = value; break;
      default: break;
    }
  }
  if (photometric < 0) return Refuse(info.format, "no photometric interpretation tag");
  if (samples < 1 || samples > 4) return Refuse(info.format, std::to_string(samples) + " samples per pixel");
  // OpenCV: min-is-white/black is gray whatever the sample count, a palette is BGR, else one channel
  // per sample.
  const bool gray = photometric == 0 || photometric == 1 || (photometric != 3 && samples == 1);
  info.colour_channels = gray ? 1 : 3;
  info.has_alpha = !gray && samples == 4;
  return Checked(info, width, height);
}

}  // namespace

Result<ImageInfo> ProbeImage(std::span<const uint8_t> bytes) {
  const Bytes b(bytes);
  if (b.Matches(0, "\x89PNG\r\n\x1A\n")) return ProbePng(b);
  if (b.Matches(0, "BM")) return ProbeBmp(b);
  if (b.Matches(0, "\xFF\xD8")) return ProbeJpeg(b);
  if (b.Matches(0, "RIFF") && b.Matches(8, "WEBP")) return ProbeWebp(b);
  if (b.Has(0, 8) && (b.Matches(0, "II") || b.Matches(0, "MM"))) return ProbeTiff(b);
  return Fail(ErrorCode::kUnsupportedImage,
              bytes.empty() ? "empty image" : "not a PNG, BMP, TIFF, WebP or JPEG image");
}

}  // namespace stego
