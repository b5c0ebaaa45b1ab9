#include "worker/cluster/cover_library.h"

#include <algorithm>
#include <stdexcept>

#include "worker/cluster/hex.h"
#include "worker/raft/wire.h"

namespace cluster {
namespace {

using json = nlohmann::json;

// A proposer's description of a cover, as put_cover carries it and snapshots keep it.
json DescriptionJson(const CoverMeta& meta) {
  return {{"width", meta.width}, {"height", meta.height}, {"channels", meta.channels},
          {"format", meta.format}, {"name", meta.name}, {"created_at", meta.created_at}};
}

// The description's fields, checked for shape: the header is a member's, but a malformed one
// must be skipped alike everywhere rather than throw on the node's thread.
std::optional<CoverMeta> DescriptionFromJson(const json& j) {
  if (!j.is_object()) return std::nullopt;
  const auto integer = [&](const char* key, int min, int max) {
    return j.contains(key) && j[key].is_number_integer() && j[key].get<std::int64_t>() >= min &&
           j[key].get<std::int64_t>() <= max;
  };
  const auto text = [&](const char* key, std::size_t max) {
    return j.contains(key) && j[key].is_string() && j[key].get_ref<const std::string&>().size() <= max;
  };
  if (!integer("width", 1, 1 << 30) || !integer("height", 1, 1 << 30) || !integer("channels", 1, 4) ||
      j["channels"] == 2 || !text("format", 8) || j["format"] == "" || !text("name", kMaxCoverNameBytes) ||
      !text("created_at", 40)) {
    return std::nullopt;
  }
  return CoverMeta{.width = j["width"], .height = j["height"], .channels = j["channels"], .format = j["format"],
                   .name = j["name"], .created_at = j["created_at"]};
}

}  // namespace

std::string CoverIdOf(std::string_view bytes) { return Sha256Hex(bytes); }

std::optional<std::string> ParseCoverId(std::string_view text) {
  std::string id(text);
  std::transform(id.begin(), id.end(), id.begin(), [](char ch) { return ch >= 'A' && ch <= 'F' ? ch + 32 : ch; });
  if (!IsLowerHex(id, 64)) return std::nullopt;
  return id;
}

std::string EncodePutCover(const CoverMeta& meta, std::string_view bytes) {
  return EncodeCommand({{"op", "put_cover"}, {"cover", DescriptionJson(meta)}}, bytes);
}

std::string EncodeDeleteCover(std::string_view id) { return EncodeCommand({{"op", "delete_cover"}, {"id", id}}); }

Outcome CoverLibrary::Apply(raft::Index index, const Command& command) {
  std::lock_guard lk(mu_);
  return command.op() == "put_cover" ? Put(index, command) : Delete(command);
}

Outcome CoverLibrary::Put(raft::Index index, const Command& command) {
  auto meta = DescriptionFromJson(command.header.value("cover", json()));
  if (!meta || command.blob.empty()) return Refuse("malformed put_cover command");
  // The id is the content's hash whatever the proposer said: the library stays content-addressed.
  meta->id = CoverIdOf(command.blob);
  if (covers_.contains(meta->id)) return Refuse(std::string(kCoverAlreadyThere));
  if (auto room = RoomForLocked(command.blob.size()); !room) return room;
  meta->size_bytes = command.blob.size();
  meta->added_at = index;
  total_bytes_ += meta->size_bytes;
  std::string id = meta->id;  // the key is not to be read from the meta it moves from
  covers_.emplace(std::move(id), Cover{std::move(*meta), std::make_shared<const std::string>(command.blob)});
  return {};
}

Outcome CoverLibrary::Delete(const Command& command) {
  const json& id = command.header.value("id", json());
  auto it = id.is_string() ? covers_.find(id.get_ref<const std::string&>()) : covers_.end();
  if (it == covers_.end()) return Refuse("no such cover " + (id.is_string() ? id.get<std::string>() : id.dump()));
  total_bytes_ -= it->second.meta.size_bytes;
  covers_.erase(it);
  return {};
}

Outcome CoverLibrary::RoomFor(std::uint64_t size_bytes) const {
  std::lock_guard lk(mu_);
  return RoomForLocked(size_bytes);
}

Outcome CoverLibrary::RoomForLocked(std::uint64_t size_bytes) const {
  const ClusterConfig config = config_.view();
  const std::uint64_t max_cover = config.max_cover_bytes, max_covers = config.max_covers,
                      max_total = config.max_library_bytes;
  if (size_bytes > max_cover) {
    return Refuse("the cover has " + std::to_string(size_bytes) + " bytes; max_cover_bytes is " + std::to_string(max_cover));
  }
  if (covers_.size() >= max_covers) {
    return Refuse("the library is full: it holds " + std::to_string(covers_.size()) + " covers (max_covers)");
  }
  if (total_bytes_ + size_bytes > max_total) {
    return Refuse("the library is full: " + std::to_string(total_bytes_) + " bytes held, " + std::to_string(size_bytes) +
                  " more would exceed max_library_bytes " + std::to_string(max_total));
  }
  return {};
}

std::optional<Cover> CoverLibrary::Find(std::string_view id) const {
  std::lock_guard lk(mu_);
  auto it = covers_.find(id);
  if (it == covers_.end()) return std::nullopt;
  return it->second;
}

std::vector<CoverMeta> CoverLibrary::List() const {
  std::vector<CoverMeta> out;
  {
    std::lock_guard lk(mu_);
    for (const auto& [id, cover] : covers_) out.push_back(cover.meta);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.added_at < b.added_at; });
  return out;
}

// Snapshot layout (raft/wire.h fields): the metadata of every cover as a JSON array, in id order,
// then each cover's bytes in the same order. Raw bytes, not base64: the library is most of it.
std::string CoverLibrary::Snapshot() const {
  std::lock_guard lk(mu_);
  json metas = json::array();
  for (const auto& [id, cover] : covers_) {
    json m = DescriptionJson(cover.meta);
    m["id"] = id;
    m["added_at"] = cover.meta.added_at;
    metas.push_back(std::move(m));
  }
  std::string out;
  raft::wire::PutBytes(out, metas.dump());
  for (const auto& [id, cover] : covers_) raft::wire::PutBytes(out, *cover.bytes);
  return out;
}

void CoverLibrary::Restore(std::string_view data) {
  std::map<std::string, Cover, std::less<>> covers;
  std::uint64_t total = 0;
  if (!data.empty()) {
    raft::wire::Reader in(data);
    const json metas = json::parse(in.Bytes(), nullptr, /*allow_exceptions=*/false);
    if (!metas.is_array()) throw std::runtime_error("covers: the snapshot's metadata is damaged");
    for (const json& m : metas) {
      auto meta = DescriptionFromJson(m);  // nullopt unless `m` is an object
      const std::string_view bytes = in.Bytes();
      const auto id = meta ? ParseCoverId(m.value("id", "")) : std::nullopt;
      if (!meta || !id || !m.contains("added_at") || !m["added_at"].is_number_unsigned() || !in.ok()) {
        throw std::runtime_error("covers: the snapshot is damaged");
      }
      meta->id = *id;
      meta->size_bytes = bytes.size();
      meta->added_at = m["added_at"];
      total += bytes.size();
      covers.emplace(*id, Cover{std::move(*meta), std::make_shared<const std::string>(bytes)});
    }
    if (!in.done()) throw std::runtime_error("covers: the snapshot is damaged");
  }
  std::lock_guard lk(mu_);
  covers_ = std::move(covers);
  total_bytes_ = total;
}

}  // namespace cluster
