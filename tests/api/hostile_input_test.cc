// A corpus of hostile inputs sent to the real worker: each gets its own 4xx with a JSON error, and
// the worker stays up and healthy (the fixture checks /healthz after every test).
#include <cstring>
#include <functional>

#include <zlib.h>

#include "tests/api/worker_fixture.h"

namespace apitest {
namespace {

void AppendBigEndian(std::string& out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((value >> shift) & 0xff));
}

void AppendChunk(std::string& png, const std::string& type, const std::string& data, bool good_crc = true) {
  AppendBigEndian(png, static_cast<uint32_t>(data.size()));
  const std::string typed = type + data;
  png += typed;
  const uint32_t crc = crc32(0, reinterpret_cast<const Bytef*>(typed.data()), static_cast<uInt>(typed.size()));
  AppendBigEndian(png, good_crc ? crc : ~crc);
}

// A PNG that declares width x height RGB pixels but carries a single tiny IDAT: a decompression
// bomb's header, refused before any pixel is inflated.
std::string PngDeclaring(uint32_t width, uint32_t height) {
  std::string png("\x89PNG\r\n\x1a\n", 8);
  std::string ihdr;
  AppendBigEndian(ihdr, width);
  AppendBigEndian(ihdr, height);
  ihdr += std::string("\x08\x02\x00\x00\x00", 5);
  AppendChunk(png, "IHDR", ihdr);
  AppendChunk(png, "IDAT", std::string("\x78\x9c\x03\x00\x00\x00\x00\x01", 8));
  AppendChunk(png, "IEND", "");
  return png;
}

// A baseline JPEG whose SOF0 declares 65000 x 65000, with a start of scan and a few entropy bytes.
std::string HugeJpegHeader() {
  std::string jpeg("\xff\xd8", 2);
  jpeg += std::string("\xff\xc0\x00\x11\x08\xfd\xe8\xfd\xe8\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01", 19);
  jpeg += std::string("\xff\xda\x00\x0c\x03\x01\x00\x02\x11\x03\x11\x00\x3f\x00", 14);
  jpeg += std::string("\x12\x34\x56\x78", 4);
  jpeg += std::string("\xff\xd9", 2);
  return jpeg;
}

std::string ValidPng() { return Encode(stego::SyntheticCover(64, 48, 4)); }

std::string WithBadIhdrCrc() {
  std::string png = ValidPng();
  png[8 + 8 + 13] ^= 0x55;  // first byte of IHDR's CRC
  return png;
}

struct HostileCase {
  const char* name;
  std::function<HttpResponse(HttpClient&)> send;
  int status;
  const char* code;
};

HttpResponse EmbedInto(HttpClient& client, const std::string& cover) {
  return client.PostMultipart("/api/v1/embed",
                              MultipartBuilder().File("cover", "c.png", "image/png", cover).Field("message", "x"));
}

HttpResponse ExtractFrom(HttpClient& client, const std::string& image) {
  return client.PostMultipart("/api/v1/extract", MultipartBuilder().File("file", "s.png", "image/png", image));
}

HttpResponse RawMultipart(HttpClient& client, const std::string& content_type, const std::string& body) {
  return client.Post("/api/v1/embed", body, content_type);
}

const std::vector<HostileCase>& Corpus() {
  static const std::vector<HostileCase> corpus = {
      {"truncated png cover", [](HttpClient& c) { auto p = ValidPng(); return EmbedInto(c, p.substr(0, p.size() / 2)); },
       415, "unsupported_image"},
      {"truncated png to extract", [](HttpClient& c) { auto p = ValidPng(); return ExtractFrom(c, p.substr(0, p.size() / 2)); },
       415, "unsupported_image"},
      {"png header only", [](HttpClient& c) { return EmbedInto(c, ValidPng().substr(0, 40)); }, 415,
       "unsupported_image"},
      {"png with a wrong IHDR crc", [](HttpClient& c) { return EmbedInto(c, WithBadIhdrCrc()); }, 415,
       "unsupported_image"},
      {"png declaring 100000x100000", [](HttpClient& c) { return EmbedInto(c, PngDeclaring(100000, 100000)); }, 413,
       "image_too_large"},
      {"png declaring 2^31 wide", [](HttpClient& c) { return ExtractFrom(c, PngDeclaring(0x80000000u, 1)); }, 415,
       "unsupported_image"},
      {"png declaring zero height", [](HttpClient& c) { return EmbedInto(c, PngDeclaring(10, 0)); }, 415,
       "unsupported_image"},
      {"jpeg declaring 65000x65000", [](HttpClient& c) { return EmbedInto(c, HugeJpegHeader()); }, 413,
       "image_too_large"},
      {"text file as cover", [](HttpClient& c) { return EmbedInto(c, "just some words, not pixels"); }, 415,
       "unsupported_image"},
      {"gif as cover", [](HttpClient& c) { return EmbedInto(c, std::string("GIF89a\x01\x00\x01\x00\x00\x00\x00;", 13)); },
       415, "unsupported_image"},
      {"empty cover part", [](HttpClient& c) { return EmbedInto(c, ""); }, 415, "unsupported_image"},
      {"empty file to extract", [](HttpClient& c) { return ExtractFrom(c, ""); }, 415, "unsupported_image"},
      {"boundary longer than 70", [](HttpClient& c) {
         return RawMultipart(c, "multipart/form-data; boundary=" + std::string(71, 'b'), "--" + std::string(71, 'b') + "--\r\n");
       }, 400, "multipart_bad_boundary"},
      {"no boundary parameter", [](HttpClient& c) { return RawMultipart(c, "multipart/form-data", "--x--\r\n"); }, 400,
       "multipart_bad_boundary"},
      {"body with another boundary", [](HttpClient& c) {
         return RawMultipart(c, "multipart/form-data; boundary=aaa",
                             "--bbb\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\nhi\r\n--bbb--\r\n");
       }, 400, "multipart_truncated"},
      {"delimiter followed by junk", [](HttpClient& c) {
         return RawMultipart(c, "multipart/form-data; boundary=aaa",
                             "--aaajunk\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\nhi\r\n--aaa--\r\n");
       }, 400, "multipart_malformed_delimiter"},
      {"part without a name", [](HttpClient& c) {
         return RawMultipart(c, "multipart/form-data; boundary=aaa",
                             "--aaa\r\nContent-Disposition: form-data\r\n\r\nhi\r\n--aaa--\r\n");
       }, 400, "multipart_bad_content_disposition"},
      {"part headers with bare LF", [](HttpClient& c) {
         return RawMultipart(c, "multipart/form-data; boundary=aaa",
                             "--aaa\r\nContent-Disposition: form-data; name=\"message\"\n\r\nhi\r\n--aaa--\r\n");
       }, 400, "multipart_malformed_headers"},
      {"hundreds of empty parts", [](HttpClient& c) {
         std::string body;
         for (int i = 0; i < 300; ++i) body += "--aaa\r\nContent-Disposition: form-data; name=\"p" + std::to_string(i) + "\"\r\n\r\n\r\n";
         return RawMultipart(c, "multipart/form-data; boundary=aaa", body + "--aaa--\r\n");
       }, 413, "multipart_too_many_parts"},
      {"empty body", [](HttpClient& c) { return RawMultipart(c, "multipart/form-data; boundary=aaa", ""); }, 400,
       "invalid_parameter"},
  };
  return corpus;
}

TEST_F(WorkerApi, HostileInputsGetTheirOwn4xxAndTheWorkerStaysHealthy) {
  for (const auto& hostile : Corpus()) {
    SCOPED_TRACE(hostile.name);
    HttpClient client(worker_->host(), worker_->port());
    ExpectError(hostile.send(client), hostile.status, hostile.code);
    EXPECT_EQ(client.Get("/healthz").status, 200);
  }
  // And the worker still does its job.
  auto stego = Embed(MultipartBuilder().Field("message", "still here"));
  ASSERT_EQ(stego.status, 200);
  EXPECT_EQ(Extract(stego.body).body, "still here");
}

}  // namespace
}  // namespace apitest
