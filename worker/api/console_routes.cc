#include "worker/api/console_routes.h"

#include <openssl/evp.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace api {
namespace {

constexpr char kPolicy[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; "
    "form-action 'none'; base-uri 'none'; frame-ancestors 'none'";
// Files larger than this are not a console's: a wrong --console-dir, refused at start.
constexpr std::uintmax_t kMaxFileBytes = 8 << 20;

std::string ContentTypeOf(const std::filesystem::path& name) {
  static const std::map<std::string, std::string, std::less<>> kTypes = {
      {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},   {".svg", "image/svg+xml"},
      {".png", "image/png"},                 {".ico", "image/x-icon"},
      {".json", "application/json"},         {".txt", "text/plain; charset=utf-8"}};
  const auto found = kTypes.find(name.extension().string());
  return found == kTypes.end() ? "application/octet-stream" : found->second;
}

// gzip (RFC 1952) at the best level: done once at start, served many times.
std::string Gzip(const std::string& bytes) {
  z_stream z{};
  if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK) return "";
  std::string out(deflateBound(&z, bytes.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  z.avail_in = static_cast<uInt>(bytes.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const bool done = deflate(&z, Z_FINISH) == Z_STREAM_END;
  out.resize(z.total_out);
  deflateEnd(&z);
  return done ? out : "";
}

std::string Etag(const std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
  std::ostringstream hex;
  hex << '"';
  for (unsigned int i = 0; i < 16 && i < length; ++i) hex << "0123456789abcdef"[digest[i] >> 4] << "0123456789abcdef"[digest[i] & 15];
  hex << '"';
  return hex.str();
}

bool AcceptsGzip(const http::Request& request) {
  const auto accepted = request.Header("Accept-Encoding");
  return accepted && accepted->find("gzip") != std::string_view::npos;
}

http::Response Serve(const http::Request& request, const ConsoleFile& file, bool immutable) {
  const auto if_none_match = request.Header("If-None-Match");
  const bool unchanged = if_none_match && *if_none_match == file.etag;
  const bool gzipped = !unchanged && !file.gzipped.empty() && AcceptsGzip(request);
  http::Response response =
      http::Response::Bytes(unchanged ? 304 : 200, file.content_type, unchanged ? "" : gzipped ? file.gzipped : file.bytes);
  if (gzipped) response.headers.Set("Content-Encoding", "gzip");
  response.headers.Set("Vary", "Accept-Encoding");
  response.headers.Set("ETag", file.etag);
  response.headers.Set("Cache-Control", immutable ? "public, max-age=31536000, immutable" : "no-cache");
  response.headers.Set("Content-Security-Policy", kPolicy);
  response.headers.Set("X-Content-Type-Options", "nosniff");
  response.headers.Set("Referrer-Policy", "no-referrer");
  return response;
}

}  // namespace

common::Expected<ConsoleFiles, std::string> ConsoleFiles::Load(const std::string& dir) {
  ConsoleFiles out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (!entry.is_regular_file()) continue;
    if (entry.file_size() > kMaxFileBytes) {
      return common::Unexpected{entry.path().string() + ": larger than a console file may be"};
    }
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    ConsoleFile file{.content_type = ContentTypeOf(entry.path()), .bytes = bytes.str(), .gzipped = "", .etag = ""};
    file.etag = Etag(file.bytes);
    if (std::string gz = Gzip(file.bytes); !gz.empty() && gz.size() < file.bytes.size()) file.gzipped = std::move(gz);
    out.files_.emplace(entry.path().filename().string(), std::move(file));
  }
  if (ec) return common::Unexpected{dir + ": " + ec.message()};
  if (!out.Find("index.html")) return common::Unexpected{dir + " holds no index.html"};
  return out;
}

const ConsoleFile* ConsoleFiles::Find(const std::string& name) const {
  const auto found = files_.find(name);
  return found == files_.end() ? nullptr : &found->second;
}

void AddConsoleRoutes(Endpoints& endpoints, std::shared_ptr<const ConsoleFiles> files) {
  const http::RouteOptions options{.name = "console", .quiet = true};
  endpoints.Add("GET", "/", Access::kPublic, [files](http::Request& request) {
    if (!files) {
      return http::Response::Error(request, 404, "console_not_built", "no web console here",
                                   "this worker was started without --console-dir, or the console was not built "
                                   "(web/build.sh); the API is under /api/v1 (/openapi.json)");
    }
    return Serve(request, *files->Find("index.html"), /*immutable=*/false);
  }, options);
  endpoints.Add("GET", "/console/{name}", Access::kPublic, [files](http::Request& request) {
    const ConsoleFile* file = files ? files->Find(std::string(request.Param("name"))) : nullptr;
    if (!file) return http::Response::Error(request, 404, "not_found", "no such console file", std::string(request.path));
    return Serve(request, *file, /*immutable=*/request.Param("name") != "index.html");
  }, options);
}

}  // namespace api
