#include "worker/api/cover_routes.h"

#include <algorithm>
#include <list>
#include <mutex>
#include <span>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "worker/api/errors.h"
#include "worker/api/form.h"
#include "worker/api/replicated.h"
#include "worker/api/sanitize.h"
#include "worker/cluster/cover_library.h"
#include "worker/cluster/member.h"
#include "worker/stego/engine.h"

namespace api {
namespace {

using json = nlohmann::json;

// The largest upload body: max_cover_bytes is at most 12 MiB, plus the form's framing. Anything
// larger is refused by the server (413) before it is read.
constexpr std::uint64_t kMaxUploadBody = 13u << 20;
// Pixels of decoded library covers kept for embed, all covers together.
constexpr std::size_t kDecodedCacheBytes = 128u << 20;

// What the header of a stored cover would say: the metadata was taken from its decoded image.
stego::ImageInfo InfoOf(const cluster::CoverMeta& meta) {
  return {.format = stego::ParseImageFormat(meta.format).value_or(stego::ImageFormat::kPng),
          .width = meta.width,
          .height = meta.height,
          .colour_channels = meta.channels == 4 ? 3 : meta.channels,
          .has_alpha = meta.channels == 4};
}

json CoverJson(const cluster::CoverMeta& meta) {
  const stego::ImageInfo info = InfoOf(meta);
  return {{"id", meta.id},
          {"name", meta.name.empty() ? json(nullptr) : json(meta.name)},
          {"size_bytes", meta.size_bytes},
          {"format", meta.format},
          {"media_type", stego::FormatMimeType(info.format)},
          {"width", meta.width},
          {"height", meta.height},
          {"channels", meta.channels},
          // A text message at 1 bit per colour channel, as capacity figures are given elsewhere.
          {"capacity_bytes", *stego::MaxDataBytes({info.dims(), 1})},
          {"created_at", meta.created_at}};
}

// The cover `text` names. One this member has not applied is looked for again after read-index,
// so that 404 means no cover acknowledged before this request began has that id.
Answer<cluster::Cover> FindCover(const http::Request& request, cluster::ClusterMember& m, std::string_view text,
                                 std::string_view field) {
  const auto id = cluster::ParseCoverId(text);
  if (!id) {
    return common::Unexpected{
        BadParameter(request, field, "a cover id is the 64 hexadecimal digits of the SHA-256 of its bytes")};
  }
  auto cover = m.state().covers().Find(*id);
  if (!cover) {
    if (auto stale = ConfirmFresh(request, m)) return common::Unexpected{std::move(*stale)};
    cover = m.state().covers().Find(*id);
  }
  if (!cover) {
    return common::Unexpected{
        http::Response::Error(request, 404, "no_such_cover", "no such cover", *id, json{{"cover_id", *id}})};
  }
  return std::move(*cover);
}

// 201 (added) or 200 (already there) with the cover's metadata and its address.
http::Response Uploaded(int status, const cluster::CoverMeta& meta) {
  auto response = http::Response::Json(status, CoverJson(meta));
  response.headers.Set("Location", "/api/v1/covers/" + meta.id);
  return response;
}

http::Response Upload(http::Request& request, cluster::ClusterMember& m, const CoverRouteSettings& settings) {
  http::MultipartLimits limits;
  limits.max_total_bytes = kMaxUploadBody;
  limits.max_file_bytes = kMaxUploadBody;
  limits.max_parts = 4;
  auto form = Form::Parse(request, {"file"}, limits);
  if (!form) return form.error();
  const http::MultipartPart* file = form->Get("file");
  if (!file) return BadParameter(request, "file", "the cover image is required");
  const std::uint64_t size = file->data.size();
  const cluster::ClusterConfig config = m.state().config().view();
  const std::uint64_t max_bytes = config.max_cover_bytes;
  if (size > max_bytes) {
    return http::Response::Error(request, 413, "cover_too_large", "cover too large",
                                 std::to_string(size) + " bytes; max_cover_bytes is " + std::to_string(max_bytes),
                                 json{{"size_bytes", size}, {"max_cover_bytes", max_bytes}});
  }
  const cluster::CoverLibrary& library = m.state().covers();
  const std::string id = cluster::CoverIdOf(file->data);
  if (library.Find(id)) {
    // Answered without a write, so only once this member is up to date: one behind the others
    // may still hold a cover deleted since.
    if (auto stale = ConfirmFresh(request, m)) return std::move(*stale);
    if (auto existing = library.Find(id)) return Uploaded(200, existing->meta);
  }
  // Only what embed can use enters the library: the header is read, then every pixel decoded.
  auto info = stego::ProbeImage(AsBytes(file->data));
  if (!info) return ErrorResponse(request, info.error());
  const auto max_pixels = std::min(settings.max_pixels, config.max_pixels);
  auto image = stego::DecodeImage(AsBytes(file->data), {max_pixels});
  if (!image) return ErrorResponse(request, image.error());
  if (auto room = library.RoomFor(size); !room) {
    return http::Response::Error(request, 409, "library_full", "the cover library is full", room.error().message);
  }
  const cluster::CoverMeta meta{.id = id,
                                .size_bytes = size,
                                .width = image->width,
                                .height = image->height,
                                .channels = image->channels,
                                .format = std::string(stego::FormatName(info->format)),
                                .name = SafeFileName(file->filename.value_or(""), ""),
                                .created_at = NowRfc3339()};
  // A retry's form has a new boundary, but the same file and name.
  auto asked = ClientRequestKey(request, id + "\n" + meta.name);
  if (!asked) return std::move(asked.error());
  std::string refused;
  auto committed = Commit(request, m, cluster::EncodePutCover(meta, file->data), *asked, &refused);
  // The same bytes were added first (by a concurrent upload): that cover is the answer, or this
  // one's description if it has been deleted again since.
  if (!committed && refused == cluster::kCoverAlreadyThere) {
    const auto stored = library.Find(id);
    return Uploaded(200, stored ? stored->meta : meta);
  }
  if (!committed) return std::move(committed.error());
  const auto stored = library.Find(id);  // gone already if deleted since
  return Uploaded(201, stored ? stored->meta : meta);
}

http::Response Image(const cluster::Cover& cover) {
  auto response = http::Response::Bytes(200, std::string(stego::FormatMimeType(InfoOf(cover.meta).format)),
                                        *cover.bytes);
  // Content-addressed: these bytes are what this URL names for ever.
  response.headers.Set("Cache-Control", "public, max-age=31536000, immutable");
  response.headers.Set("ETag", "\"" + cover.meta.id + "\"");
  response.headers.Set("X-Content-Type-Options", "nosniff");
  return response;
}

http::Response ListCovers(http::Request& request, cluster::ClusterMember& m) {
  if (auto refused = ConfirmFreshIfAsked(request, m)) return std::move(*refused);
  json covers = json::array();
  for (const auto& meta : m.state().covers().List()) covers.push_back(CoverJson(meta));
  return http::Response::Json(200, json{{"covers", std::move(covers)}});
}

http::Response GetCover(http::Request& request, cluster::ClusterMember& m) {
  if (auto refused = ConfirmFreshIfAsked(request, m)) return std::move(*refused);
  auto cover = FindCover(request, m, request.Param("id"), "id");
  if (!cover) return std::move(cover.error());
  return http::Response::Json(200, CoverJson(cover->meta));
}

http::Response GetCoverImage(http::Request& request, cluster::ClusterMember& m) {
  if (auto refused = ConfirmFreshIfAsked(request, m)) return std::move(*refused);
  auto cover = FindCover(request, m, request.Param("id"), "id");
  if (!cover) return std::move(cover.error());
  return Image(*cover);
}

http::Response Delete(http::Request& request, cluster::ClusterMember& m) {
  auto asked = ClientRequestKey(request);
  if (!asked) return std::move(asked.error());
  auto cover = FindCover(request, m, request.Param("id"), "id");
  if (!cover) {
    // Gone, because the first try of this retry deleted it (FindCover brought this member up to
    // date): the answer is the first try's, without the description that went with the cover.
    if (!AlreadyApplied(m, *asked)) return std::move(cover.error());
    const std::string id(request.Param("id"));
    if (auto replayed = Commit(request, m, cluster::EncodeDeleteCover(id), *asked); !replayed) {
      return std::move(replayed.error());
    }
    return http::Response::Json(200, json{{"deleted", {{"id", id}}}});
  }
  // Refused when applied if a concurrent delete came first (409 refused, from Commit).
  if (auto committed = Commit(request, m, cluster::EncodeDeleteCover(cover->meta.id), *asked); !committed) {
    return std::move(committed.error());
  }
  return http::Response::Json(200, json{{"deleted", CoverJson(cover->meta)}});
}

// Decoded library covers, most recently used first, up to kDecodedCacheBytes of pixels in all.
// A deleted cover simply ages out.
class DecodedCovers {
 public:
  stego::Result<std::shared_ptr<const stego::Image>> Get(const cluster::Cover& cover) {
    if (auto cached = Lookup(cover.meta.id)) return cached;
    // Decoded outside the lock: two requests may decode the same cover at once, which costs time,
    // not correctness. Its pixel count is known, and was within the limits when it was checked.
    auto decoded = stego::DecodeImage(AsBytes(*cover.bytes), {InfoOf(cover.meta).pixel_count()});
    if (!decoded) return common::Unexpected{decoded.error()};
    auto image = std::make_shared<const stego::Image>(std::move(*decoded));
    Insert(cover.meta.id, image);
    return image;
  }

 private:
  std::shared_ptr<const stego::Image> Lookup(const std::string& id) {
    std::lock_guard lk(mu_);
    auto it = std::find_if(entries_.begin(), entries_.end(), [&](const auto& e) { return e.first == id; });
    if (it == entries_.end()) return nullptr;
    entries_.splice(entries_.begin(), entries_, it);
    return it->second;
  }

  void Insert(const std::string& id, std::shared_ptr<const stego::Image> image) {
    std::lock_guard lk(mu_);
    const std::size_t size = image->pixels.size();
    const bool present =
        std::any_of(entries_.begin(), entries_.end(), [&](const auto& e) { return e.first == id; });
    if (present || size > kDecodedCacheBytes) return;
    entries_.emplace_front(id, std::move(image));
    bytes_ += size;
    while (bytes_ > kDecodedCacheBytes) {
      bytes_ -= entries_.back().second->pixels.size();
      entries_.pop_back();
    }
  }

  std::mutex mu_;
  std::list<std::pair<std::string, std::shared_ptr<const stego::Image>>> entries_;
  std::size_t bytes_ = 0;
};

}  // namespace

void AddCoverRoutes(Endpoints& endpoints, cluster::ClusterMember* member, CoverRouteSettings settings) {
  auto upload = [settings](http::Request& request, cluster::ClusterMember& m) { return Upload(request, m, settings); };
  endpoints.Add("POST", "/api/v1/covers", Access::kUser, OnMember(member, upload),
                {.name = "covers_put", .compute = true, .max_body_bytes = kMaxUploadBody});
  endpoints.Add("GET", "/api/v1/covers", Access::kUser, OnMember(member, ListCovers),
                {.name = "covers_list", .compute = true});
  endpoints.Add("GET", "/api/v1/covers/{id}", Access::kUser, OnMember(member, GetCover),
                {.name = "covers_get", .compute = true});
  endpoints.Add("GET", "/api/v1/covers/{id}/image", Access::kUser, OnMember(member, GetCoverImage),
                {.name = "covers_image", .compute = true});
  endpoints.Add("DELETE", "/api/v1/covers/{id}", Access::kAdmin, OnMember(member, Delete),
                {.name = "covers_delete", .compute = true});
}

LibraryCoverLookup LibraryCovers(cluster::ClusterMember& member) {
  auto cache = std::make_shared<DecodedCovers>();
  return [&member, cache](const http::Request& request, std::string_view id) -> Answer<LibraryCover> {
    auto cover = FindCover(request, member, id, "cover_id");
    if (!cover) return common::Unexpected{std::move(cover.error())};
    const stego::ImageInfo info = InfoOf(cover->meta);
    std::string name = cover->meta.name;
    return LibraryCover{.name = std::move(name),
                        .info = info,
                        .decode = [cache, cover = std::move(*cover)] { return cache->Get(cover); }};
  };
}

}  // namespace api
