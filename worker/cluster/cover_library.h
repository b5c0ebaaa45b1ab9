// CoverLibrary: the replicated cover library — images any member can embed into, uploaded once
// (POST /api/v1/covers) and held by every member.
//
// Content-addressed: a cover's id is the lowercase hex SHA-256 of its bytes, computed when the put
// is applied, so putting the same bytes again is a no-op that answers the existing cover. The
// proposer validates the image (it decodes, within max_pixels) and describes it in the command
// (geometry, format, name, created_at): apply cannot decode — this layer knows nothing of stego —
// and need not, since only members propose. The bytes travel as the command's blob.
//
// Limits (the replicated configuration, config_store.h): max_cover_bytes per cover, max_covers
// and max_library_bytes in all. They are checked by the proposer for a clear answer and again when
// applied, against the configuration at that log index, so every member decides alike.
//
// Memory: every member keeps every cover in memory, each as one shared immutable buffer that
// readers hold on to (an embed in progress keeps its cover alive through a concurrent delete);
// max_library_bytes bounds the total. A snapshot copies them all once more while it is taken.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "worker/cluster/config_store.h"
#include "worker/cluster/state_section.h"

namespace cluster {

struct CoverMeta {
  std::string id{};            // lowercase hex SHA-256 of the bytes
  std::uint64_t size_bytes = 0;
  int width = 0;
  int height = 0;
  int channels = 0;            // as decoded: 1 (gray), 3 (colour) or 4 (colour and alpha)
  std::string format{};        // the engine's format name: "png", "jpeg", ...
  std::string name{};          // the upload's file name, sanitised by the proposer; may be empty
  std::string created_at{};    // RFC 3339 UTC, chosen by the proposer
  raft::Index added_at = 0;    // log index of the put that added it
  bool operator==(const CoverMeta&) const = default;
};

struct Cover {
  CoverMeta meta;
  std::shared_ptr<const std::string> bytes;  // the uploaded file, unchanged
};

inline constexpr std::size_t kMaxCoverNameBytes = 100;

// The lowercase hex SHA-256 of `bytes`.
std::string CoverIdOf(std::string_view bytes);
// `text` as a cover id (64 hex digits, either case, answered in lowercase), or nullopt.
std::optional<std::string> ParseCoverId(std::string_view text);

// The command that adds `bytes`, described by `meta` (its id, size and added_at are set at apply).
std::string EncodePutCover(const CoverMeta& meta, std::string_view bytes);
std::string EncodeDeleteCover(std::string_view id);

// Why a put of a cover already in the library was skipped. The proposer learns from it that its
// upload added nothing (a put is content-addressed, so the bytes were there), even when the cover
// has been deleted again by the time it looks.
inline constexpr std::string_view kCoverAlreadyThere = "the cover is already in the library";

class CoverLibrary final : public StateSection {
 public:
  // Limits are read from `config` when a put is applied; it must outlive the library.
  explicit CoverLibrary(const ConfigStore& config) : config_(config) {}

  std::string_view name() const override { return "covers"; }
  bool Owns(std::string_view op) const override { return op == "put_cover" || op == "delete_cover"; }
  Outcome Apply(raft::Index index, const Command& command) override;
  std::string Snapshot() const override;
  void Restore(std::string_view data) override;

  std::optional<Cover> Find(std::string_view id) const;
  std::vector<CoverMeta> List() const;  // oldest first
  // Whether a new cover of `size_bytes` would be taken now; kRefused says why not (too large,
  // library full).
  Outcome RoomFor(std::uint64_t size_bytes) const;

 private:
  Outcome RoomForLocked(std::uint64_t size_bytes) const;
  Outcome Put(raft::Index index, const Command& command);
  Outcome Delete(const Command& command);

  const ConfigStore& config_;
  mutable std::mutex mu_;
  std::map<std::string, Cover, std::less<>> covers_;  // by id
  std::uint64_t total_bytes_ = 0;
};

}  // namespace cluster
