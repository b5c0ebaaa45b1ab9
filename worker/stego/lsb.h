// The bit layer: moves bytes into and out of the low bits of an image's colour channels.
//
// The colour channels in memory order, alpha skipped, form one stream of slots (one byte each). The
// stream is cut into groups of 24 slots: 8 colour pixels or 24 gray ones. At depth d (1-4 low bits
// per slot) a group carries 3*d bytes, read as one little-endian bit string: slot s of the group
// holds bits [s*d, s*d + d) in its d lowest bits. Groups are the unit of placement: the container's
// regions and the keyed order are lists of groups (see container.h), and the last slots % 24 slots of
// an image are never used.
//
// The kernels work a 64-bit word at a time (8 channel bytes, or 2 BGRA pixels with the alpha lanes
// masked out), so they run at memory speed rather than pixel by pixel.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "worker/stego/image.h"

namespace stego {

inline constexpr size_t kSlotsPerGroup = 24;
inline constexpr int kMinLsbBits = 1;
inline constexpr int kMaxLsbBits = 4;

inline constexpr size_t GroupBytes(int depth) { return 3 * static_cast<size_t>(depth); }
inline size_t GroupCount(const ImageDims& dims) { return dims.colour_slots() / kSlotsPerGroup; }
// Groups needed to carry `bytes` bytes at `depth`.
inline size_t GroupsFor(size_t bytes, int depth) { return (bytes + GroupBytes(depth) - 1) / GroupBytes(depth); }

// Writes `bytes` into GroupsFor(bytes.size(), depth) groups: consecutive ones from `first_group`, or
// the listed ones in list order (then groups.size() == GroupsFor(bytes.size(), depth)). A partial last
// group is padded with zero bits. Only the `depth` low bits of colour channels change.
// Preconditions: depth in [1, 4]; image channels 1, 3 or 4; every group exists.
void WriteGroups(Image& image, int depth, size_t first_group, std::span<const uint8_t> bytes);
void WriteGroups(Image& image, int depth, std::span<const uint32_t> groups, std::span<const uint8_t> bytes);

// The inverse: fills `out` from the same groups.
void ReadGroups(const Image& image, int depth, size_t first_group, std::span<uint8_t> out);
void ReadGroups(const Image& image, int depth, std::span<const uint32_t> groups, std::span<uint8_t> out);

}  // namespace stego
