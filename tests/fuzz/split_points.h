// Split points for the streaming targets (multipart, watch stream): a parser fed in pieces must give
// exactly what one Feed of the whole gives. The points are drawn from the input's own bytes, so a
// reproducer file replays the same pieces.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace fuzz {

// Up to 16 increasing offsets in (0, stream_size], from an FNV-1a hash running over `input`.
inline std::vector<std::size_t> HashedSplitPoints(std::string_view input, std::size_t stream_size) {
  std::vector<std::size_t> cuts;
  if (stream_size == 0) return cuts;
  std::uint32_t h = 2166136261u;
  std::size_t pos = 0;
  for (std::size_t i = 0; i < input.size() && cuts.size() < 16; ++i) {
    h = (h ^ static_cast<std::uint8_t>(input[i])) * 16777619u;
    if ((h & 7) == 0) {
      pos = std::min(stream_size, pos + 1 + (h >> 8) % 97);
      cuts.push_back(pos);
    }
  }
  return cuts;
}

// Every offset 1..stream_size-1: byte-by-byte feeding, the harshest split.
inline std::vector<std::size_t> EveryByte(std::size_t stream_size) {
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < stream_size; ++i) cuts.push_back(i);
  return cuts;
}

// Calls feed(piece) for the pieces of `stream` between consecutive cuts, then for the rest. Cuts
// out of order or past the end are skipped. Stops early when feed returns false (an error).
template <class Feed>
bool FeedInPieces(std::string_view stream, const std::vector<std::size_t>& cuts, Feed&& feed) {
  std::size_t pos = 0;
  for (std::size_t cut : cuts) {
    if (cut < pos || cut > stream.size()) continue;
    if (!feed(stream.substr(pos, cut - pos))) return false;
    pos = cut;
  }
  return feed(stream.substr(pos));
}

}  // namespace fuzz
