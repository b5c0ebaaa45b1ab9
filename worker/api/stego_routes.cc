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
#include <openssl/evp.h>

#include "worker/api/errors.h"
#include "worker/api/form.h"
#include "worker/stego/engine.h"

namespace api {
namespace {

using nlohmann::json;

constexpr std::string_view kTextMime = "text/plain; charset=utf-8";
constexpr std::string_view kBinaryMime = "application/octet-stream";

std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// A 200 JSON answer with one large base64 field: nlohmann escapes a string byte by byte, which cost
// as much as deflating the stego image; base64 needs no escaping, so it is written after the others.
http::Response JsonWithBase64(const json& fields, std::string_view name, std::span<const uint8_t> bytes) {
  http::Response response = http::Response::Json(200, fields);
  std::string& body = response.body;
  body.pop_back();  // the closing brace
  body.append(fields.empty() ? "\"" : ",\"").append(name).append("\":\"");
  const size_t at = body.size();
  body.resize(at + 4 * ((bytes.size() + 2) / 3));
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(body.data() + at), bytes.data(),
                                static_cast<int>(bytes.size()));
  body.resize(at + static_cast<size_t>(n));
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

// A MIME type we are willing to echo in Content-Type: type/subtype[; params] in visible ASCII.
std::string SafeMime(std::string_view mime) {
  const bool has_slash = mime.find('/') != std::string_view::npos;
  bool printable = !mime.empty() && mime.size() <= 127;
  for (char ch : mime) printable = printable && ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\';
  return has_slash && printable ? std::string(mime) : std::string(kBinaryMime);
}

// Strict UTF-8 (no overlongs, no surrogates): only then is a text payload echoed as a JSON string.
bool IsUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto lead = static_cast<unsigned char>(s[i]);
    const size_t length = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xe ? 3 : (lead >> 3) == 0x1e ? 4 : 0;
    if (length == 0 || i + length > s.size()) return false;
    uint32_t code = length == 1 ? lead : lead & (0x7f >> length);
    for (size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(s[i + k]);
      if ((next & 0xc0) != 0x80) return false;
      code = (code << 6) | (next & 0x3f);
    }
    static constexpr uint32_t kMinimum[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < kMinimum[length] || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return false;
    i += length;
  }
  return true;
}

// Messages are stored without name or type (see ReadEmbedJob).
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

template <class T>
using Answer = common::Expected<T, http::Response>;

// What an embed call asked for, once its form is read.
struct EmbedJob {
  const http::MultipartPart* cover = nullptr;  // an uploaded cover
  std::optional<LibraryCover> library;         // or one from the library; neither: the default cover
  std::string_view secret;
  stego::EmbedOptions options;
  stego::ImageFormat format = stego::ImageFormat::kPng;
};

struct EmbedDone {
  std::string image;
  std::string filename;
  stego::ImageFormat format;
  int channels = 0;
  stego::ImageDims dims;
  stego::EmbedReport report;
};

class StegoHandlers {
 public:
  explicit StegoHandlers(StegoSettings settings)
      : settings_(std::move(settings)),
        phases_(settings_.metrics->HistogramFamily("stego_phase_duration_seconds",
                                                   "Time spent in each phase of embed and extract calls.", {"phase"},
                                                   common::Histogram::LatencyBuckets())) {
    limits_.max_total_bytes = settings_.max_upload_bytes;
    limits_.max_file_bytes = settings_.max_upload_bytes;
    limits_.max_field_bytes = settings_.max_upload_bytes;
    limits_.max_parts = 16;
  }

  http::Response Embed(http::Request& request) const {
    auto form =
        Form::Parse(request, {"cover", "cover_id", "file", "message", "password", "lsb_bits", "format"}, limits_);
    if (!form) return form.error();
    auto job = ReadEmbedJob(request, *form);
    if (!job) return job.error();
    auto done = RunEmbed(request, *job);
    if (!done) return done.error();
    if (!WantsJson(request)) {
      return Download(std::string(stego::FormatMimeType(done->format)), done->filename, std::move(done->image));
    }
    json body = {
        {"request_id", request.request_id},
        {"filename", done->filename},
        {"mime", stego::FormatMimeType(done->format)},
        {"cover_info", CoverInfo(*done)},
        {"secret_size_bytes", job->secret.size()},
        {"payload_size_bytes", done->report.container_bytes},
        {"compressed", done->report.compressed},
        {"encrypted", done->report.encrypted},
    };
    return JsonWithBase64(body, "stego_image_b64", AsBytes(done->image));
  }

  // The prototype's embed: `file` is the secret, hidden in the default cover; our fields
  // (`cover` or `cover_id`, `message` instead of `file`, `password`, `lsb_bits`) are optional
  // extras. Always JSON, with the prototype's field names and meanings.
  http::Response CompatEmbed(http::Request& request) const {
    auto form = Form::Parse(request, {"file", "cover", "cover_id", "message", "password", "lsb_bits"}, limits_);
    if (!form) return form.error();
    auto job = ReadEmbedJob(request, *form);
    if (!job) return job.error();
    auto done = RunEmbed(request, *job);
    if (!done) return done.error();
    const json body = {
        {"request_id", request.request_id},
        {"cover_info", CoverInfo(*done)},
        {"secret_size_bytes", job->secret.size()},
        // The prototype's meaning: the size of the stego image it returns (its GUI shows it so).
        {"payload_size_bytes", done->image.size()},
        {"notes", Notes(*done)},
    };
    return JsonWithBase64(body, "stego_image_b64", AsBytes(done->image));
  }

  http::Response Extract(http::Request& request) const {
    auto extracted = RunExtract(request);
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
    auto extracted = RunExtract(request);
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
    auto lsb_bits = form->Int(request, "lsb_bits", 1, 4, Tunables().default_lsb_bits);
    if (!lsb_bits) return lsb_bits.error();
    std::string format = "png";
    stego::ImageDims dims = stego::ImageDims::Of(settings_.default_cover->image());
    int channels = settings_.default_cover->image().channels;
    if (const auto* cover = form->Get("cover")) {
      // The header is enough: capacity never needs the pixels.
      auto info = ProbeWithinLimits(AsBytes(cover->data));
      if (!info) return ErrorResponse(request, info.error());
      format = stego::FormatName(info->format);
      dims = info->dims();
      channels = info->colour_channels + (info->has_alpha ? 1 : 0);
    }
    json by_lsb = json::object();
    for (int bits = 1; bits <= 4; ++bits) by_lsb[std::to_string(bits)] = *stego::MaxDataBytes({dims, bits});
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
  // Runs one phase of a call and records how long it took.
  template <class Work>
  auto Timed(std::string_view phase, Work&& work) const {
    const auto start = std::chrono::steady_clock::now();
    auto result = work();
    phases_.WithLabels({phase}).Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    return result;
  }

  // Reads cover (`cover`, `cover_id` or neither: the default one), payload (`file` or `message`),
  // password, depth and output format.
  Answer<EmbedJob> ReadEmbedJob(const http::Request& request, const Form& form) const {
    EmbedJob job;
    job.cover = form.Get("cover");
    if (const auto id = form.Text("cover_id")) {
      if (job.cover) {
        return common::Unexpected{
            BadParameter(request, "cover_id", "give either 'cover' (an image) or 'cover_id' (a library cover), not both")};
      }
      if (!settings_.library_cover) return common::Unexpected{NotClustered(request)};
      auto library = settings_.library_cover(request, *id);
      if (!library) return common::Unexpected{std::move(library.error())};
      job.library = std::move(*library);
    }
    const auto* file = form.Get("file");
    const auto* text = form.Get("message");
    if ((file == nullptr) == (text == nullptr)) {
      return common::Unexpected{
          BadParameter(request, "file", "give exactly one of 'file' (a file) or 'message' (a text message)")};
    }
    if (file) {
      job.secret = file->data;
      job.options.filename = SafeFileName(file->filename.value_or(""), "");
      job.options.mime = SafeMime(file->content_type);
    } else {
      // A message is stored with neither name nor type: the most compact record, and what
      // capacity figures assume. Extract answers it as UTF-8 text.
      job.secret = text->data;
    }
    auto lsb_bits = form.Int(request, "lsb_bits", 1, 4, Tunables().default_lsb_bits);
    if (!lsb_bits) return common::Unexpected{lsb_bits.error()};
    job.options.lsb_bits = *lsb_bits;
    job.options.password = std::string(form.Text("password").value_or(""));
    const std::string_view format_name = form.Text("format").value_or("png");
    const auto format = stego::ParseImageFormat(format_name);
    if (!format) {
      return common::Unexpected{BadParameter(request, "format", "output format must be png, bmp, tiff or webp")};
    }
    if (!stego::IsLossless(*format)) {
      return common::Unexpected{ErrorResponse(
          request, stego::Fail(stego::ErrorCode::kLossyOutput,
                               std::string(format_name) + " is lossy and would destroy the hidden bits; use png, bmp, tiff or webp")
                       .error)};
    }
    job.format = *format;
    return job;
  }

  // Everything cheap is checked before anything heavy: header-declared size and capacity come
  // before the cover is decoded, the key derived or a pixel touched.
  Answer<EmbedDone> RunEmbed(const http::Request& request, const EmbedJob& job) const {
    auto packed = Timed("pack", [&] { return stego::Pack(AsBytes(job.secret), job.options); });
    if (!packed) return common::Unexpected{ErrorResponse(request, packed.error())};
    if (!job.cover && !job.library) return EmbedIntoDefault(request, job, *packed);
    // A library cover's geometry is in its metadata; an upload's is in its header.
    auto info = job.library ? WithinLimits(job.library->info)
                            : Timed("probe", [&] { return ProbeWithinLimits(AsBytes(job.cover->data)); });
    if (!info) return common::Unexpected{ErrorResponse(request, info.error())};
    if (auto fits = stego::CheckCapacity(*packed, info->dims()); !fits) {
      return common::Unexpected{ErrorResponse(request, fits.error())};
    }
    auto cover = Timed("decode", [&] { return DecodeCover(job); });
    if (!cover) return common::Unexpected{ErrorResponse(request, cover.error())};
    auto report = Timed("embed", [&] { return stego::Embed(*cover, *packed); });
    if (!report) return common::Unexpected{ErrorResponse(request, report.error())};
    auto encoded = Timed("encode", [&] { return stego::EncodeImage(*cover, job.format); });
    if (!encoded) return common::Unexpected{ErrorResponse(request, encoded.error())};
    // The cover's name, so "holiday.jpg" comes back as "holiday-stego.png".
    const std::string name = job.library ? job.library->name : job.cover->filename.value_or("");
    return Done(std::move(*encoded), std::string(Stem(SafeFileName(name, "cover"))) + "-", job.format, *cover, *report);
  }

  // The default cover is shared by every request and never copied: only the rows the payload
  // reaches are, and only their PNG bands are deflated (png_writer.h).
  Answer<EmbedDone> EmbedIntoDefault(const http::Request& request, const EmbedJob& job,
                                     const stego::PackedPayload& packed) const {
    const stego::PngTemplate& cover = *settings_.default_cover;
    auto stego = Timed("embed", [&] { return stego::EmbedRows(cover.image(), packed); });
    if (!stego) return common::Unexpected{ErrorResponse(request, stego.error())};
    auto encoded = Timed("encode", [&] { return stego::EncodeImage(cover, stego->top, job.format); });
    if (!encoded) return common::Unexpected{ErrorResponse(request, encoded.error())};
    return Done(std::move(*encoded), "", job.format, cover.image(), stego->report);
  }

  static EmbedDone Done(std::vector<uint8_t> encoded, const std::string& stem, stego::ImageFormat format,
                        const stego::Image& cover, const stego::EmbedReport& report) {
    EmbedDone done;
    done.image.assign(encoded.begin(), encoded.end());
    done.filename = stem + "stego" + std::string(stego::FormatExtension(format));
    done.format = format;
    done.channels = cover.channels;
    done.dims = stego::ImageDims::Of(cover);
    done.report = report;
    return done;
  }

  Answer<stego::Extracted> RunExtract(const http::Request& request) const {
    auto form = Form::Parse(request, {"file", "password"}, limits_);
    if (!form) return common::Unexpected{form.error()};
    const auto* file = form->Get("file");
    if (!file) return common::Unexpected{BadParameter(request, "file", "the stego image is required")};
    auto image = Timed("decode", [&] { return stego::DecodeImage(AsBytes(file->data), {MaxPixels()}); });
    if (!image) return common::Unexpected{ErrorResponse(request, image.error())};
    auto extracted = Timed("extract", [&] {
      return stego::Extract(*image, form->Text("password").value_or(""), settings_.max_upload_bytes);
    });
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
  uint64_t MaxPixels() const { return std::min(settings_.max_pixels, Tunables().max_pixels); }

  // The header is enough to refuse an oversized image: no pixel is decoded.
  stego::Result<stego::ImageInfo> ProbeWithinLimits(std::span<const uint8_t> bytes) const {
    auto info = stego::ProbeImage(bytes);
    if (!info) return info;
    return WithinLimits(*info);
  }

  // A library cover was within the limits when it was added; they may have been lowered since.
  stego::Result<stego::ImageInfo> WithinLimits(const stego::ImageInfo& info) const {
    if (auto within = stego::CheckLimits(info, {MaxPixels()}); !within) return common::Unexpected{within.error()};
    return info;
  }

  // The pixels of the job's cover (uploaded or from the library), as a copy embed may write into.
  stego::Result<stego::Image> DecodeCover(const EmbedJob& job) const {
    if (!job.library) return stego::DecodeImage(AsBytes(job.cover->data), {MaxPixels()});
    auto shared = job.library->decode();
    if (!shared) return common::Unexpected{shared.error()};
    return **shared;
  }

  static json CoverInfo(const EmbedDone& done) {
    return {{"width", done.dims.width},
            {"height", done.dims.height},
            {"channels", done.channels},
            {"lsb_per_channel", done.report.lsb_bits},
            {"capacity_bytes", done.report.capacity_bytes}};
  }

  static std::string Notes(const EmbedDone& done) {
    return std::string(stego::FormatName(done.format)) + ", " + std::to_string(done.report.lsb_bits) +
           " LSB per colour channel, " + (done.report.compressed ? "deflated" : "stored uncompressed") + ", " +
           (done.report.encrypted ? "AES-256-GCM encrypted with keyed pixel order" : "not encrypted");
  }

  StegoSettings settings_;
  common::Family<common::Histogram>& phases_;
  http::MultipartLimits limits_;
  mutable std::mutex dataset_mu_;
  mutable std::array<std::shared_ptr<const std::string>, stego::kDatasetSize> dataset_png_;  // guarded by dataset_mu_
};

}  // namespace

void AddStegoRoutes(Endpoints& endpoints, StegoSettings settings) {
  auto handlers = std::make_shared<const StegoHandlers>(std::move(settings));
  // `job`: the kind of job the route computes, for middleware (a cluster member records the upload
  // jobs in its job ledger and may place them on another member); empty: served here, unrecorded.
  auto add = [&](const char* method, const char* pattern, std::string name,
                 http::Response (StegoHandlers::*route)(http::Request&) const, std::string job) {
    http::Handler handler = [handlers, route](http::Request& request) { return ((*handlers).*route)(request); };
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

std::string SafeFileName(std::string_view name, std::string_view fallback) {
  if (const auto slash = name.find_last_of("/\\"); slash != std::string_view::npos) name.remove_prefix(slash + 1);
  std::string safe;
  for (char ch : name.substr(0, 100)) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                    ch == '.' || ch == '_' || ch == '-';
    safe.push_back(ok ? ch : '_');
  }
  while (!safe.empty() && safe.front() == '.') safe.erase(safe.begin());
  return safe.empty() ? std::string(fallback) : safe;
}

bool IsStegoRoute(std::string_view route) {
  for (std::string_view name : {"embed", "extract", "capacity", "dataset", "compat_embed", "compat_extract",
                                "compat_dataset"}) {
    if (route == name) return true;
  }
  return false;
}

}  // namespace api
