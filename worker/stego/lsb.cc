#include "worker/stego/lsb.h"

#include <array>
#include <bit>
#include <cassert>
#include <cstring>
#include <type_traits>

namespace stego {
namespace {

static_assert(std::endian::native == std::endian::little, "the kernels read pixels as little-endian words");

__extension__ typedef unsigned __int128 uint128;

// One group's payload bytes (3*D of them, at most 12) as one integer.
template <int D>
using Chunk = std::conditional_t<(D <= 2), uint64_t, uint128>;

template <int D>
Chunk<D> LoadChunk(const uint8_t* p) {
  Chunk<D> v = 0;
  std::memcpy(&v, p, GroupBytes(D));
  return v;
}

template <int D>
void StoreChunk(uint8_t* p, Chunk<D> v) {
  std::memcpy(p, &v, GroupBytes(D));
}

uint64_t LoadWord(const uint8_t* p) {
  uint64_t w;
  std::memcpy(&w, p, sizeof w);
  return w;
}

void StoreWord(uint8_t* p, uint64_t w) { std::memcpy(p, &w, sizeof w); }

// Where a pixel layout keeps its colour slots inside a 64-bit word. Gray and BGR images are slot
// streams already (8 lanes per word); BGRA words hold two pixels whose alpha lanes 3 and 7 are skipped.
template <bool kAlpha>
struct Layout {
  static constexpr int kLanes = kAlpha ? 6 : 8;
  static constexpr int kWords = static_cast<int>(kSlotsPerGroup) / kLanes;
  static constexpr size_t kGroupStride = 8 * kWords;  // image bytes per group
  static constexpr int Lane(int slot) { return kAlpha ? slot + slot / 3 : slot; }
  static constexpr uint64_t LowBits(int depth) {
    uint64_t mask = 0;
    for (int s = 0; s < kLanes; ++s) mask |= ((uint64_t{1} << depth) - 1) << (8 * Lane(s));
    return mask;
  }
};

// Masks with a `width`-bit field at every `spacing` bits of a 64-bit word.
constexpr uint64_t Fields(int width, int spacing) {
  uint64_t mask = 0;
  for (int at = 0; at < 64; at += spacing) mask |= ((uint64_t{1} << width) - 1) << at;
  return mask;
}

// Spreads kLanes*D payload bits over the low bits of a word's colour lanes. Eight D-bit fields move
// to one per byte in three halving steps (like a Morton code); for BGRA a zero field is first
// inserted after each pixel's three so the alpha lanes get nothing.
template <int D, bool kAlpha>
uint64_t Spread(uint64_t bits) {
  if constexpr (D == 1 && !kAlpha) {
    // The default depth has a shorter way: copy the byte into every lane, keep bit i in lane i; a
    // lane then holds 0 or 2^i <= 0x80, so adding 0x7F sets its top bit exactly when the bit was set.
    const uint64_t kept = (bits * 0x0101010101010101ULL) & 0x8040201008040201ULL;
    return ((kept + 0x7F7F7F7F7F7F7F7FULL) >> 7) & Fields(1, 8);
  }
  uint64_t x = bits;
  if constexpr (kAlpha) x = (x & Fields(3 * D, 64)) | ((x >> (3 * D)) << (4 * D));
  x = (x | (x << (32 - 4 * D))) & Fields(4 * D, 32);
  x = (x | (x << (16 - 2 * D))) & Fields(2 * D, 16);
  x = (x | (x << (8 - D))) & Fields(D, 8);
  return x;
}

// The inverse of Spread: collects the low bits of a word's colour lanes.
template <int D, bool kAlpha>
uint64_t Gather(uint64_t word) {
  if constexpr (D == 1 && !kAlpha) {
    // The multiplier moves lane i's bit 0 to bit 56 + i; all partial products land on distinct bits,
    // so nothing carries into the top byte.
    return ((word & Fields(1, 8)) * 0x0102040810204080ULL) >> 56;
  }
  uint64_t x = word & Layout<kAlpha>::LowBits(D);
  x = (x | (x >> (8 - D))) & Fields(2 * D, 16);
  x = (x | (x >> (16 - 2 * D))) & Fields(4 * D, 32);
  x = (x | (x >> (32 - 4 * D))) & Fields(8 * D, 64);
  if constexpr (kAlpha) x = (x & Fields(3 * D, 64)) | ((x >> (4 * D)) << (3 * D));
  return x;
}

// Group placements: a run of consecutive groups, or an explicit list (the keyed order). Skip(n)
// gives the placement of the groups after the first n.
struct Consecutive {
  size_t first;
  size_t operator()(size_t i) const { return first + i; }
  Consecutive Skip(size_t n) const { return {first + n}; }
};
struct Listed {
  const uint32_t* groups;
  size_t operator()(size_t i) const { return groups[i]; }
  Listed Skip(size_t n) const { return {groups + n}; }
};

template <int D, bool kAlpha, class GroupAt>
void WriteKernel(uint8_t* pixels, GroupAt group_at, const uint8_t* bytes, size_t groups) {
  using L = Layout<kAlpha>;
  constexpr uint64_t kKeep = ~L::LowBits(D);
  constexpr uint64_t kWordBits = (uint64_t{1} << (L::kLanes * D)) - 1;
  for (size_t i = 0; i < groups; ++i, bytes += GroupBytes(D)) {
    uint8_t* p = pixels + group_at(i) * L::kGroupStride;
    const Chunk<D> chunk = LoadChunk<D>(bytes);
    for (int k = 0; k < L::kWords; ++k) {
      const uint64_t bits = static_cast<uint64_t>(chunk >> (L::kLanes * D * k)) & kWordBits;
      StoreWord(p + 8 * k, (LoadWord(p + 8 * k) & kKeep) | Spread<D, kAlpha>(bits));
    }
  }
}

template <int D, bool kAlpha, class GroupAt>
void ReadKernel(const uint8_t* pixels, GroupAt group_at, uint8_t* out, size_t groups) {
  using L = Layout<kAlpha>;
  for (size_t i = 0; i < groups; ++i, out += GroupBytes(D)) {
    const uint8_t* p = pixels + group_at(i) * L::kGroupStride;
    Chunk<D> chunk = 0;
    for (int k = 0; k < L::kWords; ++k) {
      chunk |= static_cast<Chunk<D>>(Gather<D, kAlpha>(LoadWord(p + 8 * k))) << (L::kLanes * D * k);
    }
    StoreChunk<D>(out, chunk);
  }
}

// Calls kernel.template operator()<D, kAlpha>() for the runtime depth and layout, so each
// combination gets a loop with its masks and shifts as constants.
template <int D, class F>
void WithAlpha(bool alpha, F& kernel) {
  if (alpha) {
    kernel.template operator()<D, true>();
  } else {
    kernel.template operator()<D, false>();
  }
}

template <class F>
void WithLayout(int depth, bool alpha, F&& kernel) {
  switch (depth) {
    case 1: WithAlpha<1>(alpha, kernel); break;
    case 2: WithAlpha<2>(alpha, kernel); break;
    case 3: WithAlpha<3>(alpha, kernel); break;
    case 4: WithAlpha<4>(alpha, kernel); break;
    default: assert(false && "lsb depth must be 1-4");
  }
}

[[maybe_unused]] bool Valid(const Image& image, int depth) {
  return depth >= kMinLsbBits && depth <= kMaxLsbBits &&
         (image.channels == 1 || image.channels == 3 || image.channels == 4) &&
         image.pixels.size() == image.pixel_count() * static_cast<size_t>(image.channels);
}

// Runs the kernels over whole groups straight from the caller's bytes, and over a partial last group
// through a zero-padded copy.
template <class GroupAt>
void Write(Image& image, int depth, GroupAt where, std::span<const uint8_t> bytes) {
  assert(Valid(image, depth));
  WithLayout(depth, image.has_alpha(), [&]<int D, bool kAlpha>() {
    const size_t whole = bytes.size() / GroupBytes(D);
    WriteKernel<D, kAlpha>(image.pixels.data(), where, bytes.data(), whole);
    if (const size_t rest = bytes.size() % GroupBytes(D); rest != 0) {
      std::array<uint8_t, GroupBytes(D)> padded{};
      std::memcpy(padded.data(), bytes.data() + whole * GroupBytes(D), rest);
      WriteKernel<D, kAlpha>(image.pixels.data(), where.Skip(whole), padded.data(), 1);
    }
  });
}

template <class GroupAt>
void Read(const Image& image, int depth, GroupAt where, std::span<uint8_t> out) {
  assert(Valid(image, depth));
  WithLayout(depth, image.has_alpha(), [&]<int D, bool kAlpha>() {
    const size_t whole = out.size() / GroupBytes(D);
    ReadKernel<D, kAlpha>(image.pixels.data(), where, out.data(), whole);
    if (const size_t rest = out.size() % GroupBytes(D); rest != 0) {
      std::array<uint8_t, GroupBytes(D)> padded;
      ReadKernel<D, kAlpha>(image.pixels.data(), where.Skip(whole), padded.data(), 1);
      std::memcpy(out.data() + whole * GroupBytes(D), padded.data(), rest);
    }
  });
}

}  // namespace

void WriteGroups(Image& image, int depth, size_t first_group, std::span<const uint8_t> bytes) {
  assert(first_group + GroupsFor(bytes.size(), depth) <= GroupCount(ImageDims::Of(image)));
  Write(image, depth, Consecutive{first_group}, bytes);
}

void WriteGroups(Image& image, int depth, std::span<const uint32_t> groups, std::span<const uint8_t> bytes) {
  assert(groups.size() == GroupsFor(bytes.size(), depth));
  Write(image, depth, Listed{groups.data()}, bytes);
}

void ReadGroups(const Image& image, int depth, size_t first_group, std::span<uint8_t> out) {
  assert(first_group + GroupsFor(out.size(), depth) <= GroupCount(ImageDims::Of(image)));
  Read(image, depth, Consecutive{first_group}, out);
}

void ReadGroups(const Image& image, int depth, std::span<const uint32_t> groups, std::span<uint8_t> out) {
  assert(groups.size() == GroupsFor(out.size(), depth));
  Read(image, depth, Listed{groups.data()}, out);
}

}  // namespace stego
