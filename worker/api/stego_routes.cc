#include "worker/api/stego_routes.h"

#include <array>
#include <charconv>
#include <chrono>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "worker/api/errors.h"
#include "worker/api/form.h"
#include "worker/api/sanitize.h"
#include "worker/stego/engine.h"

namespace api {
namespace {

using nlohmann::json;

constexpr std::string_view kTextMime = "text/plain; charset=utf-8";

// A 200 JSON answer with one large base64 field: nlohmann escapes a string byte by byte, which cost
// as much as deflating the stego image; base64 needs no escaping, so it is written after the others.
http::Response JsonWithBase64(const json& fields, std::string_view name, std::span<const uint8_t> bytes) {
  http::Response response = http::Response::Json(200, fields);
  std::string& body = response.body;
  body.pop_back();  // the closing brace
  body.append(fields.empty() ? "\"" : ",\"").append(name).append("\":\"");
  common::AppendBase64(body, bytes);
  body.append("\"}");
  return response;
}

bool WantsJson(const http::Request& request) {
  const auto accept = request.Header("Accept");
  return accept && accept->find("application/json") != std::string_view::npos;
}

std::string_view Stem(std::string_view name) {
  const auto dot = name.rfind('.');
  return dot == std::string_view::npos || dot == 0 ? name : name.substr(0, dot);
}

// The stego image's file name, from the cover's: "holiday.jpg" comes back as "holiday-stego.png",
// the default cover (no name) as "stego.png".
std::string StegoFileName(const std::optional<std::string>& cover_name, stego::ImageFormat format) {
  const std::string stem = cover_name ? std::string(Stem(SafeFileName(*cover_name, "cover"))) + "-" : "";
  return stem + "stego" + std::string(stego::FormatExtension(format));
}

// Messages are stored without name or type (see ReadEmbedCall).
bool IsMessage(const stego::Extracted& extracted) { return extracted.mime.empty() && extracted.filename.empty(); }

std::string MimeOf(const stego::Extracted& extracted) {
  return IsMessage(extracted) ? std::string(kTextMime) : SafeMime(extracted.mime);
}

http::Response Download(std::string content_type, std::string_view filename, std::string body) {
  auto response = http::Response::Bytes(200, std::move(content_type), std::move(body));
  response.headers.Set("Content-Disposition", "attachment; filename=\"" + std::string(filename) + "\"");
  // The payload's type comes from whoever embedded it: never let a browser sniff it into HTML.
  response.headers.Set("X-Content-Type-Options", "nosniff");
  return response;
}

// What an embed call asked for, once its form is read: the engine's job (its spans point into the
// form, which must outlive it) and the name the cover came with.
struct EmbedCall {
  stego::EmbedJob job;
  std::optional<std::string> cover_name;  // an upload's or a library cover's; nullopt: the default cover
};

json CoverInfo(const stego::Embedded& done) {
  return {{"width", done.dims.width},
          {"height", done.dims.height},
          {"channels", done.channels},
          {"lsb_per_channel", done.report.lsb_bits},
          {"capacity_bytes", done.report.capacity_bytes}};
}

std::string Notes(const stego::Embedded& done) {
  return std::string(stego::FormatName(done.format)) + ", " + std::to_string(done.report.lsb_bits) +
         " LSB per colour channel, " + (done.report.compressed ? "deflated" : "stored uncompressed") + ", " +
         (done.report.encrypted ? "AES-256-GCM encrypted with keyed pixel order" : "not encrypted");
}

class StegoHandlers {
 public:
  explicit StegoHandlers(StegoSettings settings)
      : settings_(std::move(settings)),
        phases_(settings_.metrics->HistogramFamily("stego_phase_duration_seconds",
                                                   "Time spent in each phase of embed and extract calls.", {"phase"},
                                                   common::Histogram::LatencyBuckets())),
        observe_([phases = &phases_](std::string_view phase, std::chrono::steady_clock::duration elapsed) {
          phases->WithLabels({phase}).Observe(std::chrono::duration<double>(elapsed).count());
        }) {
    limits_.max_total_bytes = settings_.max_upload_bytes;
    limits_.max_file_bytes = settings_.max_upload_bytes;
    limits_.max_field_bytes = settings_.max_upload_bytes;
    limits_.max_parts = 16;
  }

  http::Response Embed(http::Request& request) const {
    auto form =
        Form::Parse(request, {"cover", "cover_id", "file", "message", "password", "lsb_bits", "format"}, limits_);
    if (!form) return form.error();
    auto call = ReadEmbedCall(request, *form);
    if (!call) return call.error();
    auto done = stego::RunEmbed(call->job, observe_);
    if (!done) return ErrorResponse(request, done.error());
    const std::string filename = StegoFileName(call->cover_name, done->format);
    if (!WantsJson(request)) {
      return Download(std::string(stego::FormatMimeType(done->format)), filename,
                      std::string(done->file.begin(), done->file.end()));
    }
    json body = {
        {"request_id", request.request_id},
        {"filename", filename},
        {"mime", stego::FormatMimeType(done->format)},
        {"cover_info", CoverInfo(*done)},
        {"secret_size_bytes", call->job.secret.size()},
        {"payload_size_bytes", done->report.container_bytes},
        {"compressed", done->report.compressed},
        {"encrypted", done->report.encrypted},
    };
    return JsonWithBase64(body, "stego_image_b64", done->file);
  }

  // The prototype's embed: `file` is the secret, hidden in the default cover; our fields
  // (`cover` or `cover_id`, `message` instead of `file`, `password`, `lsb_bits`) are optional
  // extras. Always JSON, with the prototype's field names and meanings.
  http::Response CompatEmbed(http::Request& request) const {
    auto form = Form::Parse(request, {"file", "cover", "cover_id", "message", "password", "lsb_bits"}, limits_);
    if (!form) return form.error();
    auto call = ReadEmbedCall(request, *form);
    if (!call) return call.error();
    auto done = stego::RunEmbed(call->job, observe_);
    if (!done) return ErrorResponse(request, done.error());
    const json body = {
        {"request_id", request.request_id},
        {"cover_info", CoverInfo(*done)},
        {"secret_size_bytes", call->job.secret.size()},
        // The prototype's meaning: the size of the stego image it returns (its GUI shows it so).
        {"payload_size_bytes", done->file.size()},
        {"notes", Notes(*done)},
    };
    return JsonWithBase64(body, "stego_image_b64", done->file);
  }

  http::Response Extract(http::Request& request) const {
    auto extracted = ExtractFromForm(request);
    if (!extracted) return extracted.error();
    const bool is_text = IsMessage(*extracted);
    const std::string filename = SafeFileName(extracted->filename, is_text ? "message.txt" : "payload.bin");
    const std::string mime = MimeOf(*extracted);
    std::string data(extracted->data.begin(), extracted->data.end());
    if (!WantsJson(request)) return Download(mime, filename, std::move(data));
    json body = {
        {"request_id", request.request_id},
        {"filename", filename},
        {"mime", mime},
        {"size_bytes", data.size()},
        {"compressed", extracted->compressed},
        {"encrypted", extracted->encrypted},
    };
    if (is_text && IsUtf8(data)) body["message"] = data;
    return JsonWithBase64(body, "data_b64", extracted->data);
  }

  http::Response CompatExtract(http::Request& request) const {
    auto extracted = ExtractFromForm(request);
    if (!extracted) return extracted.error();
    const json body = {
        {"request_id", request.request_id},
        {"recovered_size_bytes", extracted->data.size()},
        {"recovered_mime", MimeOf(*extracted)},
    };
    return JsonWithBase64(body, "recovered_b64", extracted->data);
  }

  http::Response Capacity(http::Request& request) const {
    auto form = Form::Parse(request, {"cover", "lsb_bits"}, limits_);
    if (!form) return form.error();
    const StegoTunables tunables = Tunables();
    auto lsb_bits = form->Int(request, "lsb_bits", stego::kMinLsbBits, stego::kMaxLsbBits, tunables.default_lsb_bits);
    if (!lsb_bits) return lsb_bits.error();
    std::string format = "png";
    stego::ImageDims dims = stego::ImageDims::Of(settings_.default_cover->image());
    int channels = settings_.default_cover->image().channels;
    if (const auto* cover = form->Get("cover")) {
      // The header is enough: capacity never needs the pixels.
      auto info = stego::ProbeWithinLimits(AsBytes(cover->data), {MaxPixels(tunables)});
      if (!info) return ErrorResponse(request, info.error());
      format = stego::FormatName(info->format);
      dims = info->dims();
      channels = info->colour_channels + (info->has_alpha ? 1 : 0);
    }
    json by_lsb = json::object();
    for (int bits = stego::kMinLsbBits; bits <= stego::kMaxLsbBits; ++bits) {
      by_lsb[std::to_string(bits)] = *stego::MaxDataBytes({dims, bits});
    }
    const json body = {
        {"request_id", request.request_id},
        {"format", format},
        {"cover_info",
         {{"width", dims.width},
          {"height", dims.height},
          {"channels", channels},
          {"lsb_per_channel", *lsb_bits},
          {"capacity_bytes", *stego::MaxDataBytes({dims, *lsb_bits})}}},
        {"capacity_bytes_with_password", *stego::MaxDataBytes({dims, *lsb_bits, /*encrypted=*/true})},
        {"capacity_bytes_by_lsb", by_lsb},
    };
    return http::Response::Json(200, body);
  }

  http::Response Dataset(http::Request& request) const {
    const std::string_view text = request.Param("i");
    int index = -1;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), index);
    if (ec != std::errc() || end != text.data() + text.size() || index < 0 || index >= stego::kDatasetSize) {
      return http::Response::Error(request, 404, "not_found", "no such dataset image",
                                   "dataset images are numbered 0 to " + std::to_string(stego::kDatasetSize - 1));
    }
    auto png = DatasetPng(index);
    if (!png) return ErrorResponse(request, png.error());
    auto response = http::Response::Bytes(200, "image/png", **png);
    response.headers.Set("Cache-Control", "public, max-age=86400, immutable");
    return response;
  }

 private:
  // Reads cover (`cover`, `cover_id` or neither: the default one), payload (`file` or `message`),
  // password, depth and output format. What only the engine can judge (a lossy output format, the
  // cover, the capacity) it judges in RunEmbed.
  Answer<EmbedCall> ReadEmbedCall(const http::Request& request, const Form& form) const {
    const StegoTunables tunables = Tunables();
    EmbedCall call;
    call.job.cover = std::cref(*settings_.default_cover);
    call.job.limits.max_pixels = MaxPixels(tunables);
    const auto* cover = form.Get("cover");
    if (cover) {
      call.job.cover = stego::UploadedCover{AsBytes(cover->data)};
      call.cover_name = cover->filename.value_or("");
    }
    if (const auto id = form.Text("cover_id")) {
      if (cover) {
        return common::Unexpected{
            BadParameter(request, "cover_id", "give either 'cover' (an image) or 'cover_id' (a library cover), not both")};
      }
      if (!settings_.library_cover) return common::Unexpected{NotClustered(request)};
      auto library = settings_.library_cover(request, *id);
      if (!library) return common::Unexpected{std::move(library).error()};
      call.job.cover = stego::StoredCover{library->info, std::move(library->decode)};
      call.cover_name = std::move(library->name);
    }
    const auto* file = form.Get("file");
    const auto* text = form.Get("message");
    if ((file == nullptr) == (text == nullptr)) {
      return common::Unexpected{
          BadParameter(request, "file", "give exactly one of 'file' (a file) or 'message' (a text message)")};
    }
    if (file) {
      call.job.secret = AsBytes(file->data);
      call.job.options.filename = SafeFileName(file->filename.value_or(""), "");
      call.job.options.mime = SafeMime(file->content_type);
    } else {
      // A message is stored with neither name nor type: the most compact record, and what
      // capacity figures assume. Extract answers it as UTF-8 text.
      call.job.secret = AsBytes(text->data);
    }
    auto lsb_bits = form.Int(request, "lsb_bits", stego::kMinLsbBits, stego::kMaxLsbBits, tunables.default_lsb_bits);
    if (!lsb_bits) return common::Unexpected{lsb_bits.error()};
    call.job.options.lsb_bits = *lsb_bits;
    call.job.options.password = std::string(form.Text("password").value_or(""));
    const auto format = stego::ParseImageFormat(form.Text("format").value_or("png"));
    if (!format) {
      return common::Unexpected{BadParameter(
          request, "format",
          "output format must be " + stego::FormatsWhere([](const stego::FormatTraits& t) { return t.lossless; }))};
    }
    call.job.format = *format;
    return call;
  }

  Answer<stego::Extracted> ExtractFromForm(const http::Request& request) const {
    auto form = Form::Parse(request, {"file", "password"}, limits_);
    if (!form) return common::Unexpected{form.error()};
    const auto* file = form->Get("file");
    if (!file) return common::Unexpected{BadParameter(request, "file", "the stego image is required")};
    auto extracted = stego::RunExtract({.file = AsBytes(file->data),
                                        .password = form->Text("password").value_or(""),
                                        .max_output_bytes = settings_.max_upload_bytes,
                                        .limits = {MaxPixels(Tunables())}},
                                       observe_);
    if (!extracted) return common::Unexpected{ErrorResponse(request, extracted.error())};
    return std::move(*extracted);
  }

  // Each dataset image is generated and encoded on first use, then kept: 50 PNGs, 13 MB in all.
  stego::Result<std::shared_ptr<const std::string>> DatasetPng(int index) const {
    {
      std::lock_guard lock(dataset_mu_);
      if (auto cached = dataset_png_[static_cast<size_t>(index)]) return cached;
    }
    auto image = stego::DatasetImage(index);
    if (!image) return common::Unexpected{image.error()};
    auto png = stego::EncodeImage(*image, stego::ImageFormat::kPng);
    if (!png) return common::Unexpected{png.error()};
    auto encoded = std::make_shared<const std::string>(png->begin(), png->end());
    std::lock_guard lock(dataset_mu_);
    return dataset_png_[static_cast<size_t>(index)] = std::move(encoded);
  }

  StegoTunables Tunables() const { return settings_.tunables ? settings_.tunables() : StegoTunables{}; }
  // This member's cap, lowered by the cluster's configuration.
  uint64_t MaxPixels(const StegoTunables& tunables) const { return std::min(settings_.max_pixels, tunables.max_pixels); }

  StegoSettings settings_;
  common::Family<common::Histogram>& phases_;
  stego::PhaseObserver observe_;  // records each phase of RunEmbed and RunExtract in phases_
  http::MultipartLimits limits_;
  mutable std::mutex dataset_mu_;
  mutable std::array<std::shared_ptr<const std::string>, stego::kDatasetSize> dataset_png_;  // guarded by dataset_mu_
};

}  // namespace

void AddStegoRoutes(Endpoints& endpoints, StegoSettings settings) {
  const std::string member = settings.member_name;
  auto handlers = std::make_shared<const StegoHandlers>(std::move(settings));
  // `job`: the kind of job the route computes, for middleware (a cluster member records the upload
  // jobs in its job ledger and may place them on another member); empty: served here, unrecorded.
  auto add = [&](const char* method, const char* pattern, std::string name,
                 http::Response (StegoHandlers::*route)(http::Request&) const, std::string job) {
    http::Handler handler = [handlers, route](http::Request& request) { return ((*handlers).*route)(request); };
    if (!job.empty()) {
      // Where the job ran, which is another member when the cluster's leader placed it there.
      handler = [member, handler = std::move(handler)](http::Request& request) {
        http::Response response = handler(request);
        response.headers.Set("X-Stego-Member", member);
        return response;
      };
    }
    endpoints.Add(method, pattern, Access::kUser, std::move(handler),
                  {.name = std::move(name), .compute = true, .working_set_bytes = kStegoJobWorkingSetBytes,
                   .job = std::move(job)});
  };
  add("POST", "/api/v1/embed", "embed", &StegoHandlers::Embed, "embed");
  add("POST", "/api/v1/extract", "extract", &StegoHandlers::Extract, "extract");
  add("POST", "/api/v1/capacity", "capacity", &StegoHandlers::Capacity, "capacity");
  add("GET", "/api/v1/dataset/{i}", "dataset", &StegoHandlers::Dataset, "");
  add("POST", "/api/embed", "compat_embed", &StegoHandlers::CompatEmbed, "embed");
  add("POST", "/api/extract", "compat_extract", &StegoHandlers::CompatExtract, "extract");
  add("GET", "/api/dataset/{i}", "compat_dataset", &StegoHandlers::Dataset, "");
}

bool IsStegoRoute(std::string_view route) {
  for (std::string_view name : {"embed", "extract", "capacity", "dataset", "compat_embed", "compat_extract",
                                "compat_dataset"}) {
    if (route == name) return true;
  }
  return false;
}

}  // namespace api
