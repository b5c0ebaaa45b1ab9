// What the API echoes of a client's strings: names and MIME types come from whoever embedded a
// payload, and go back out in headers, JSON and file names on another user's disk. Pure functions.
#pragma once

#include <string>
#include <string_view>

namespace api {

// A name safe in a header and on a user's disk: letters, digits, '.', '_', '-'; no leading dot;
// at most 100 characters. Anything else becomes '_'; `fallback` when nothing is left. Only the
// part after the last '/' or '\' counts, so no name climbs out of a directory.
std::string SafeFileName(std::string_view name, std::string_view fallback);

// `mime` when it is one we are willing to echo in Content-Type: type/subtype[; params] in visible
// ASCII without quotes or backslashes, at most 127 characters; otherwise application/octet-stream.
std::string SafeMime(std::string_view mime);

// Strict UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF, no truncated sequence): only
// then is a text payload echoed as a JSON string.
bool IsUtf8(std::string_view s);

}  // namespace api
