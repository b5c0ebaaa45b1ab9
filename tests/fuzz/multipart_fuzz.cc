// libFuzzer target for the multipart/form-data parser.
//
// Input layout: the first line (up to '\n') is the Content-Type header value, the rest is the body,
// so the fuzzer explores the boundary parameter parser too. For every input it checks:
//   1. no crash, leak or undefined behaviour (the build adds ASan and UBSan);
//   2. the streaming contract: feeding the body in pieces (byte by byte, and at split points drawn
//      from the input itself) gives exactly the parts, or exactly the error, of a single Feed.
// Tight limits are used so the size-limit paths are reachable with small inputs.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/fuzz/split_points.h"
#include "worker/http/multipart.h"

namespace {

using Result = common::Expected<http::MultipartForm, http::MultipartError>;

http::MultipartLimits Limits() {
  http::MultipartLimits l;
  l.max_parts = 8;
  l.max_part_header_bytes = 256;
  l.max_total_bytes = 4096;
  l.max_field_bytes = 64;
  l.max_file_bytes = 512;
  l.max_name_bytes = 16;
  l.max_filename_bytes = 32;
  return l;
}

Result ParseSplit(const std::string& boundary, std::string_view body, const std::vector<std::size_t>& cuts) {
  http::MultipartParser parser(boundary, Limits());
  std::optional<http::MultipartError> error;
  fuzz::FeedInPieces(body, cuts, [&](std::string_view piece) {
    if (auto ok = parser.Feed(piece); !ok) error = ok.error();
    return !error;
  });
  if (!error) {
    if (auto ok = parser.Finish(); !ok) error = ok.error();
  }
  if (error) return common::Unexpected<http::MultipartError>{*error};
  return parser.TakeForm();
}

[[noreturn]] void Mismatch(const char* how, const Result& a, const Result& b) {
  std::fprintf(stderr, "split mismatch (%s): whole=%s split=%s\n", how,
               a.has_value() ? "ok" : a.error().message.c_str(), b.has_value() ? "ok" : b.error().message.c_str());
  std::abort();
}

void Check(const char* how, const Result& whole, const Result& split) {
  if (whole.has_value() != split.has_value()) Mismatch(how, whole, split);
  if (whole.has_value() ? !(whole->parts == split->parts) : !(whole.error() == split.error())) Mismatch(how, whole, split);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t nl = input.find('\n');
  const std::string_view content_type = nl == std::string_view::npos ? input : input.substr(0, nl);
  const std::string_view body = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);

  const Result whole = http::ParseMultipart(content_type, body, Limits());
  auto boundary = http::BoundaryFromContentType(content_type);
  if (!boundary) {
    if (whole.has_value() || !(whole.error() == boundary.error())) std::abort();
    return 0;
  }
  if (whole.has_value()) {
    // Cheap invariants of a successful parse.
    const auto limits = Limits();
    if (whole->parts.size() > limits.max_parts) std::abort();
    for (const auto& p : whole->parts) {
      if (p.name.empty() || p.name.size() > limits.max_name_bytes) std::abort();
      if (p.filename && p.filename->size() > limits.max_filename_bytes) std::abort();
      if (p.data.size() > (p.filename ? limits.max_file_bytes : limits.max_field_bytes)) std::abort();
    }
  }

  // Byte by byte (bounded, to keep executions fast), then at split points drawn from the input.
  if (body.size() <= 1024) Check("byte by byte", whole, ParseSplit(*boundary, body, fuzz::EveryByte(body.size())));
  Check("hashed splits", whole, ParseSplit(*boundary, body, fuzz::HashedSplitPoints(input, body.size())));
  return 0;
}
