// Multipart: a strict, incremental multipart/form-data parser (RFC 7578 over RFC 2046).
//
// Feed() accepts the body in chunks of any size; the parts and the error (which error, and its
// message) do not depend on how the body was split, down to one byte per call. The parser copies
// part data into the parts it returns, so it keeps no reference to the chunks. Parsing is strict:
//   - the boundary comes from the Content-Type (token or quoted-string, 1-70 characters of RFC 2046
//     bchars, not ending in a space);
//   - delimiters are "CRLF--boundary" at the start of a line; the first may follow a preamble;
//     after a delimiter only optional spaces/tabs then CRLF, or "--" (the close delimiter) may
//     follow; anything after the close delimiter is the epilogue and is ignored;
//   - part headers end with an empty line, use CRLF (a bare CR or LF is an error), no folding;
//   - every part needs Content-Disposition: form-data with a name; filename is optional; both may be
//     tokens or quoted-strings with backslash escapes; Content-Type defaults to text/plain;
//   - the close delimiter is required (a truncated body is an error).
// Limits bound every allocation: part count, header bytes per part, total bytes, bytes per field
// (parts without filename) and per file, name and filename lengths. Size-limit errors map to 413,
// the rest to 400 (415 when the Content-Type is not multipart/form-data at all).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/expected.h"

namespace http {

struct MultipartLimits {
  std::size_t max_parts = 64;
  std::size_t max_part_header_bytes = 8 * 1024;   // all header lines of one part, CRLFs included
  std::uint64_t max_total_bytes = 256ull << 20;   // the whole body, preamble and epilogue included
  std::uint64_t max_field_bytes = 1ull << 20;     // data of a part without filename
  std::uint64_t max_file_bytes = 256ull << 20;    // data of a part with filename
  std::size_t max_name_bytes = 256;
  std::size_t max_filename_bytes = 1024;
};

enum class MultipartErrc {
  kNotMultipart,          // 415: Content-Type is not multipart/form-data
  kBadBoundary,           // 400: boundary parameter missing, duplicated or invalid
  kBadContentType,        // 400: Content-Type parameters malformed
  kMalformedDelimiter,    // 400: delimiter not followed by CRLF or "--"
  kMalformedHeaders,      // 400: bad header line, bare CR/LF, folding
  kBadContentDisposition, // 400: missing/duplicate/not form-data/no name/bad parameters
  kTruncated,             // 400: body ended before the close delimiter
  kNameTooLong,           // 400: name or filename over its limit
  kTooManyParts,          // 413
  kHeadersTooLarge,       // 413: part headers over max_part_header_bytes
  kFieldTooLarge,         // 413
  kFileTooLarge,          // 413
  kBodyTooLarge,          // 413
};

// The message names the part when known.
using MultipartError = common::Error<MultipartErrc>;

int HttpStatusOf(MultipartErrc code);                 // 400, 413 or 415
std::string_view MultipartErrcName(MultipartErrc code);  // stable snake_case, e.g. "multipart_truncated"

struct MultipartPart {
  std::string name;
  std::optional<std::string> filename;
  std::string content_type;  // "text/plain" when the part has none
  std::string data;
  bool operator==(const MultipartPart&) const = default;
};

struct MultipartForm {
  std::vector<MultipartPart> parts;
  // The first part of that name, or nullptr.
  const MultipartPart* Find(std::string_view name) const;
};

// Extracts the boundary from a Content-Type value such as
// `multipart/form-data; boundary="abc def"`.
common::Expected<std::string, MultipartError> BoundaryFromContentType(std::string_view content_type);

class MultipartParser {
 public:
  // `boundary` without the leading "--", as returned by BoundaryFromContentType.
  explicit MultipartParser(std::string boundary, MultipartLimits limits = {});
  ~MultipartParser();
  MultipartParser(const MultipartParser&) = delete;
  MultipartParser& operator=(const MultipartParser&) = delete;

  // Consumes the next bytes of the body. After an error every call returns that same error.
  common::Expected<void, MultipartError> Feed(std::string_view chunk);
  // Declares the end of the body; fails when the close delimiter was not seen.
  common::Expected<void, MultipartError> Finish();

  // The parts completed so far (all of them after a successful Finish()).
  MultipartForm TakeForm();

 private:
  struct State;
  std::unique_ptr<State> state_;  // keeps the state machine's fields out of this header
};

// Parses a whole body: boundary from `content_type`, one Feed, Finish.
common::Expected<MultipartForm, MultipartError> ParseMultipart(std::string_view content_type, std::string_view body,
                                                               const MultipartLimits& limits = {});

}  // namespace http
