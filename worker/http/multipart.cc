#include "worker/http/multipart.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "worker/http/headers.h"

namespace http {
namespace {

using common::Expected;
using common::Fail;
using common::Unexpected;

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// RFC 9110 tchar.
bool IsTokenChar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

// RFC 2046 bchars (space allowed, but not as the last character).
bool IsBoundaryChar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::strchr("'()+_,-./:=? ", c) != nullptr && c != '\0';
}

bool IsWhitespace(char c) { return c == ' ' || c == '\t'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsWhitespace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsWhitespace(s.back())) s.remove_suffix(1);
  return s;
}

std::string Quote(std::string_view s) {
  // For error messages only: bounded, and control characters made visible.
  std::string out = "'";
  for (char c : s.substr(0, 64)) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  if (s.size() > 64) out += "...";
  out += "'";
  return out;
}

struct Param {
  std::string name;  // lower-cased
  std::string value;
};

// Parses `*( OWS ";" OWS name "=" ( token / quoted-string ) ) OWS` as in RFC 9110 §5.6.6, the
// parameter list after a media type or a disposition type. Empty parameters (";;") are tolerated.
Expected<std::vector<Param>, std::string> ParseParams(std::string_view s) {
  std::vector<Param> params;
  std::size_t i = 0;
  auto skip_ws = [&] {
    while (i < s.size() && IsWhitespace(s[i])) ++i;
  };
  while (true) {
    skip_ws();
    if (i == s.size()) return params;
    if (s[i] != ';') return Unexpected<std::string>{"expected ';' before " + Quote(s.substr(i))};
    ++i;
    skip_ws();
    if (i == s.size()) return params;
    if (s[i] == ';') continue;
    Param p;
    while (i < s.size() && IsTokenChar(s[i])) p.name += Lower(s[i++]);
    if (p.name.empty()) return Unexpected<std::string>{"bad parameter name at " + Quote(s.substr(i))};
    if (i == s.size() || s[i] != '=') return Unexpected<std::string>{"parameter " + p.name + " has no value"};
    ++i;
    if (i < s.size() && s[i] == '"') {
      ++i;
      bool closed = false;
      while (i < s.size()) {
        const char c = s[i++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c == '\\') {
          if (i == s.size()) break;
          p.value += s[i++];
          continue;
        }
        if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) {
          return Unexpected<std::string>{"control character in parameter " + p.name};
        }
        p.value += c;
      }
      if (!closed) return Unexpected<std::string>{"unterminated quoted value of parameter " + p.name};
    } else {
      while (i < s.size() && IsTokenChar(s[i])) p.value += s[i++];
      if (p.value.empty()) return Unexpected<std::string>{"parameter " + p.name + " has an empty or invalid value"};
    }
    for (const Param& q : params) {
      if (q.name == p.name) return Unexpected<std::string>{"duplicate parameter " + p.name};
    }
    params.push_back(std::move(p));
  }
}

Expected<void, MultipartError> ValidateBoundary(std::string_view b) {
  if (b.empty() || b.size() > 70) {
    return Fail(MultipartErrc::kBadBoundary, "boundary must be 1 to 70 characters, got " + std::to_string(b.size()));
  }
  for (char c : b) {
    if (!IsBoundaryChar(c)) return Fail(MultipartErrc::kBadBoundary, "boundary contains a character outside RFC 2046 bchars");
  }
  if (b.back() == ' ') return Fail(MultipartErrc::kBadBoundary, "boundary must not end with a space");
  return {};
}

}  // namespace

int HttpStatusOf(MultipartErrc code) {
  switch (code) {
    case MultipartErrc::kNotMultipart:
      return 415;
    case MultipartErrc::kTooManyParts:
    case MultipartErrc::kHeadersTooLarge:
    case MultipartErrc::kFieldTooLarge:
    case MultipartErrc::kFileTooLarge:
    case MultipartErrc::kBodyTooLarge:
      return 413;
    default:
      return 400;
  }
}

std::string_view MultipartErrcName(MultipartErrc code) {
  switch (code) {
    case MultipartErrc::kNotMultipart: return "multipart_not_form_data";
    case MultipartErrc::kBadBoundary: return "multipart_bad_boundary";
    case MultipartErrc::kBadContentType: return "multipart_bad_content_type";
    case MultipartErrc::kMalformedDelimiter: return "multipart_malformed_delimiter";
    case MultipartErrc::kMalformedHeaders: return "multipart_malformed_headers";
    case MultipartErrc::kBadContentDisposition: return "multipart_bad_content_disposition";
    case MultipartErrc::kTruncated: return "multipart_truncated";
    case MultipartErrc::kNameTooLong: return "multipart_name_too_long";
    case MultipartErrc::kTooManyParts: return "multipart_too_many_parts";
    case MultipartErrc::kHeadersTooLarge: return "multipart_headers_too_large";
    case MultipartErrc::kFieldTooLarge: return "multipart_field_too_large";
    case MultipartErrc::kFileTooLarge: return "multipart_file_too_large";
    case MultipartErrc::kBodyTooLarge: return "multipart_body_too_large";
  }
  return "multipart_error";
}

const MultipartPart* MultipartForm::Find(std::string_view name) const {
  for (const MultipartPart& p : parts) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

Expected<std::string, MultipartError> BoundaryFromContentType(std::string_view content_type) {
  const std::size_t semi = content_type.find(';');
  const std::string_view media = Trim(content_type.substr(0, semi));
  if (!EqualsIgnoreCase(media, "multipart/form-data")) {
    return Fail(MultipartErrc::kNotMultipart, "expected Content-Type multipart/form-data, got " + Quote(media));
  }
  if (semi == std::string_view::npos) return Fail(MultipartErrc::kBadBoundary, "Content-Type has no boundary parameter");
  auto params = ParseParams(content_type.substr(semi));
  if (!params) return Fail(MultipartErrc::kBadContentType, "malformed Content-Type: " + params.error());
  for (Param& p : *params) {
    if (p.name != "boundary") continue;
    if (auto ok = ValidateBoundary(p.value); !ok) return Unexpected<MultipartError>{ok.error()};
    return std::move(p.value);
  }
  return Fail(MultipartErrc::kBadBoundary, "Content-Type has no boundary parameter");
}

// The state machine. Bytes move through phases:
//
//   kPreamble --delimiter--> kAfterDelimiter --"--"--> kClosePadding --CRLF--> kEpilogue
//                                  | [SP/HT]* CRLF
//                                  v
//                              kHeaders --empty line--> kData --delimiter--> kAfterDelimiter ...
//
// Delimiter search (kPreamble, kData) runs over "CRLF--boundary". The body is treated as if it
// began with CRLF, so a first delimiter at offset 0 is found like any other. Because a boundary
// cannot contain CR, a partial match can only restart at a CR, so the search needs no failure
// table: `matched_` counts the delimiter bytes matched so far, and those bytes are known (they are
// a prefix of the delimiter), which is why a match spanning two Feed() calls needs no buffering.
struct MultipartParser::State {
  enum class Phase {
    kPreamble,
    kAfterDelimiter,      // just matched CRLF--boundary
    kAfterDelimiterDash,  // saw one '-' of the close "--"
    kPadding,             // transport padding before the CRLF that opens a part
    kPaddingCR,
    kHeaders,
    kHeaderCR,            // saw CR inside the header section
    kData,
    kClosePadding,        // after the close delimiter: padding, then CRLF or end of body
    kCloseCR,
    kEpilogue,
    kFailed,
  };

  MultipartLimits limits;
  std::string delimiter;  // "\r\n--" + boundary
  Phase phase = Phase::kPreamble;
  std::size_t matched = 2;  // the virtual CRLF before the body
  std::uint64_t total = 0;
  std::optional<MultipartError> error;

  // Current part.
  std::size_t parts_started = 0;
  std::size_t header_bytes = 0;
  std::string line;
  bool have_disposition = false;
  bool have_name_param = false;
  bool have_content_type = false;
  MultipartPart part;

  MultipartForm form;

  Expected<void, MultipartError> SetError(MultipartErrc code, std::string message) {
    error = MultipartError{code, std::move(message)};
    phase = Phase::kFailed;
    return Unexpected<MultipartError>{*error};
  }

  std::string PartLabel() const {
    if (!part.name.empty()) return "part " + Quote(part.name);
    return "part #" + std::to_string(parts_started);
  }

  // Data bytes of the current part (or preamble bytes, discarded).
  Expected<void, MultipartError> Emit(std::string_view bytes) {
    if (phase == Phase::kPreamble || bytes.empty()) return {};
    const bool is_file = part.filename.has_value();
    const std::uint64_t limit = is_file ? limits.max_file_bytes : limits.max_field_bytes;
    if (part.data.size() + bytes.size() > limit) {
      return SetError(is_file ? MultipartErrc::kFileTooLarge : MultipartErrc::kFieldTooLarge,
                      PartLabel() + " exceeds the " + (is_file ? "file" : "field") + " size limit of " +
                          std::to_string(limit) + " bytes");
    }
    part.data.append(bytes);
    return {};
  }

  // Scans data (or preamble) from `pos` until a full delimiter or the end of `in`.
  Expected<void, MultipartError> Scan(std::string_view in, std::size_t& pos) {
    while (pos < in.size()) {
      if (matched == 0) {
        // Fast path: jump from CR to CR, skipping (as data) every CR whose following bytes are in
        // this chunk and are not the delimiter; stop at a delimiter or at a CR too close to the
        // chunk's end to decide. Only how data is grouped into Emit() calls depends on the chunk
        // boundaries, never what is data.
        std::size_t end = in.size();
        for (std::size_t search = pos; search < in.size();) {
          const void* cr = std::memchr(in.data() + search, '\r', in.size() - search);
          if (cr == nullptr) break;
          end = static_cast<std::size_t>(static_cast<const char*>(cr) - in.data());
          if (in.size() - end < delimiter.size() || in.compare(end, delimiter.size(), delimiter) == 0) break;
          search = end + 1;
          end = in.size();
        }
        if (auto ok = Emit(in.substr(pos, end - pos)); !ok) return ok;
        pos = end;
        if (pos == in.size()) return {};
      }
      if (in[pos] == delimiter[matched]) {
        ++pos;
        if (++matched == delimiter.size()) {
          matched = 0;
          if (phase == Phase::kData) form.parts.push_back(std::move(part));
          part = MultipartPart{};
          phase = Phase::kAfterDelimiter;
          return {};
        }
      } else {
        // The held bytes were data after all; the current byte is looked at again (it may be the
        // CR that starts the real delimiter).
        const std::size_t held = matched;
        matched = 0;
        if (auto ok = Emit(std::string_view(delimiter).substr(0, held)); !ok) return ok;
      }
    }
    return {};
  }

  Expected<void, MultipartError> StartPart() {
    if (++parts_started > limits.max_parts) {
      return SetError(MultipartErrc::kTooManyParts, "more than " + std::to_string(limits.max_parts) + " parts");
    }
    header_bytes = 0;
    line.clear();
    have_disposition = false;
    have_name_param = false;
    have_content_type = false;
    part = MultipartPart{};
    phase = Phase::kHeaders;
    return {};
  }

  Expected<void, MultipartError> HeaderLine() {
    if (IsWhitespace(line.front())) {
      return SetError(MultipartErrc::kMalformedHeaders, PartLabel() + ": folded header lines are not allowed");
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos || colon == 0) {
      return SetError(MultipartErrc::kMalformedHeaders, PartLabel() + ": header line without a name: " + Quote(line));
    }
    const std::string_view name = std::string_view(line).substr(0, colon);
    for (char c : name) {
      if (!IsTokenChar(c)) return SetError(MultipartErrc::kMalformedHeaders, PartLabel() + ": bad header name " + Quote(name));
    }
    const std::string_view value = Trim(std::string_view(line).substr(colon + 1));
    for (char c : value) {
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) {
        return SetError(MultipartErrc::kMalformedHeaders, PartLabel() + ": control character in header " + Quote(name));
      }
    }
    if (EqualsIgnoreCase(name, "Content-Disposition")) {
      if (have_disposition) return SetError(MultipartErrc::kBadContentDisposition, PartLabel() + ": duplicate Content-Disposition");
      have_disposition = true;
      return Disposition(value);
    }
    if (EqualsIgnoreCase(name, "Content-Type")) {
      if (have_content_type) return SetError(MultipartErrc::kMalformedHeaders, PartLabel() + ": duplicate Content-Type");
      if (value.empty()) return SetError(MultipartErrc::kMalformedHeaders, PartLabel() + ": empty Content-Type");
      have_content_type = true;
      part.content_type = value;
    }
    return {};  // other headers (Content-Transfer-Encoding, ...) are ignored, as RFC 7578 §4.7 allows
  }

  Expected<void, MultipartError> Disposition(std::string_view value) {
    const std::size_t semi = value.find(';');
    const std::string_view type = Trim(value.substr(0, semi));
    if (!EqualsIgnoreCase(type, "form-data")) {
      return SetError(MultipartErrc::kBadContentDisposition,
                      PartLabel() + ": Content-Disposition must be form-data, got " + Quote(type));
    }
    auto params = ParseParams(semi == std::string_view::npos ? std::string_view() : value.substr(semi));
    if (!params) return SetError(MultipartErrc::kBadContentDisposition, PartLabel() + ": Content-Disposition: " + params.error());
    bool have_name = false;
    for (Param& p : *params) {
      if (p.name == "name") {
        if (p.value.size() > limits.max_name_bytes) {
          return SetError(MultipartErrc::kNameTooLong, PartLabel() + ": name longer than " +
                                                           std::to_string(limits.max_name_bytes) + " bytes");
        }
        part.name = std::move(p.value);
        have_name = true;
      } else if (p.name == "filename") {
        if (p.value.size() > limits.max_filename_bytes) {
          return SetError(MultipartErrc::kNameTooLong, PartLabel() + ": filename longer than " +
                                                           std::to_string(limits.max_filename_bytes) + " bytes");
        }
        part.filename = std::move(p.value);
      }
      // filename* and other parameters: RFC 7578 §4.2 says not to use them; ignored.
    }
    have_name_param = have_name;
    return {};
  }

  Expected<void, MultipartError> EndHeaders() {
    if (!have_disposition) {
      return SetError(MultipartErrc::kBadContentDisposition, PartLabel() + " has no Content-Disposition header");
    }
    // Checked here, not on the header line, so that a malformed line after it is reported as such.
    if (!have_name_param || part.name.empty()) {
      return SetError(MultipartErrc::kBadContentDisposition, PartLabel() + ": Content-Disposition has no name");
    }
    if (!have_content_type) part.content_type = "text/plain";
    phase = Phase::kData;
    matched = 0;
    return {};
  }

  Expected<void, MultipartError> Step(std::string_view in) {
    std::size_t pos = 0;
    while (pos < in.size()) {
      switch (phase) {
        case Phase::kPreamble:
        case Phase::kData:
          if (auto ok = Scan(in, pos); !ok) return ok;
          continue;
        case Phase::kEpilogue:
          return {};
        case Phase::kFailed:
          return Unexpected<MultipartError>{*error};
        default:
          break;
      }
      const char c = in[pos++];
      switch (phase) {
        case Phase::kAfterDelimiter:
          if (c == '-') {
            phase = Phase::kAfterDelimiterDash;
          } else if (IsWhitespace(c)) {
            phase = Phase::kPadding;
          } else if (c == '\r') {
            phase = Phase::kPaddingCR;
          } else {
            return SetError(MultipartErrc::kMalformedDelimiter, "boundary delimiter followed by " + Quote({&c, 1}) +
                                                                    " instead of CRLF or \"--\"");
          }
          break;
        case Phase::kAfterDelimiterDash:
          if (c != '-') return SetError(MultipartErrc::kMalformedDelimiter, "boundary delimiter followed by a single '-'");
          phase = Phase::kClosePadding;
          break;
        case Phase::kPadding:
          if (c == '\r') {
            phase = Phase::kPaddingCR;
          } else if (!IsWhitespace(c)) {
            return SetError(MultipartErrc::kMalformedDelimiter, "unexpected bytes after a boundary delimiter");
          }
          break;
        case Phase::kPaddingCR:
          if (c != '\n') return SetError(MultipartErrc::kMalformedDelimiter, "boundary delimiter line ends in CR without LF");
          if (auto ok = StartPart(); !ok) return ok;
          break;
        case Phase::kHeaders:
        case Phase::kHeaderCR:
          if (++header_bytes > limits.max_part_header_bytes) {
            return SetError(MultipartErrc::kHeadersTooLarge, PartLabel() + ": headers exceed " +
                                                                 std::to_string(limits.max_part_header_bytes) + " bytes");
          }
          if (phase == Phase::kHeaderCR) {
            if (c != '\n') return SetError(MultipartErrc::kMalformedHeaders, PartLabel() + ": bare CR in headers");
            phase = Phase::kHeaders;
            if (line.empty()) {
              if (auto ok = EndHeaders(); !ok) return ok;
            } else {
              if (auto ok = HeaderLine(); !ok) return ok;
              line.clear();
            }
          } else if (c == '\r') {
            phase = Phase::kHeaderCR;
          } else if (c == '\n') {
            return SetError(MultipartErrc::kMalformedHeaders, PartLabel() + ": bare LF in headers");
          } else {
            line += c;
          }
          break;
        case Phase::kClosePadding:
          if (c == '\r') {
            phase = Phase::kCloseCR;
          } else if (!IsWhitespace(c)) {
            return SetError(MultipartErrc::kMalformedDelimiter, "unexpected bytes after the close delimiter");
          }
          break;
        case Phase::kCloseCR:
          if (c != '\n') return SetError(MultipartErrc::kMalformedDelimiter, "close delimiter line ends in CR without LF");
          phase = Phase::kEpilogue;
          break;
        default:
          break;
      }
    }
    return {};
  }
};

MultipartParser::MultipartParser(std::string boundary, MultipartLimits limits) : state_(std::make_unique<State>()) {
  state_->limits = limits;
  if (auto ok = ValidateBoundary(boundary); !ok) {
    state_->error = ok.error();
    state_->phase = State::Phase::kFailed;
  }
  state_->delimiter = "\r\n--" + boundary;
}

MultipartParser::~MultipartParser() = default;

Expected<void, MultipartError> MultipartParser::Feed(std::string_view chunk) {
  State& s = *state_;
  if (s.phase == State::Phase::kFailed) return Unexpected<MultipartError>{*s.error};
  // Bytes up to the total limit are parsed first, so an earlier error in the stream wins over the
  // size error whatever the chunking.
  const std::uint64_t room = s.limits.max_total_bytes - std::min(s.total, s.limits.max_total_bytes);
  const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(room, chunk.size()));
  s.total += take;
  if (auto ok = s.Step(chunk.substr(0, take)); !ok) return ok;
  if (take < chunk.size()) {
    return s.SetError(MultipartErrc::kBodyTooLarge,
                      "multipart body exceeds " + std::to_string(s.limits.max_total_bytes) + " bytes");
  }
  return {};
}

Expected<void, MultipartError> MultipartParser::Finish() {
  State& s = *state_;
  switch (s.phase) {
    case State::Phase::kFailed:
      return Unexpected<MultipartError>{*s.error};
    case State::Phase::kClosePadding:
    case State::Phase::kEpilogue:
      return {};
    case State::Phase::kCloseCR:
      return s.SetError(MultipartErrc::kMalformedDelimiter, "close delimiter line ends in CR without LF");
    case State::Phase::kPreamble:
      return s.SetError(MultipartErrc::kTruncated, "no boundary delimiter found in the body");
    default:
      return s.SetError(MultipartErrc::kTruncated, "body ended before the closing boundary delimiter");
  }
}

MultipartForm MultipartParser::TakeForm() { return std::move(state_->form); }

Expected<MultipartForm, MultipartError> ParseMultipart(std::string_view content_type, std::string_view body,
                                                       const MultipartLimits& limits) {
  auto boundary = BoundaryFromContentType(content_type);
  if (!boundary) return Unexpected<MultipartError>{boundary.error()};
  MultipartParser parser(std::move(*boundary), limits);
  if (auto ok = parser.Feed(body); !ok) return Unexpected<MultipartError>{ok.error()};
  if (auto ok = parser.Finish(); !ok) return Unexpected<MultipartError>{ok.error()};
  return parser.TakeForm();
}

}  // namespace http
