// The name a download is written under when the user names none: the server's, from its
// Content-Disposition header, but only ever a plain name in the current directory. A server (or
// whatever answers in its place) must not make stegoctl write ../.bashrc or /etc/passwd.
#pragma once

#include <string>

namespace stegoctl {

// The header's filename without directories (either slash), leading dots or control characters;
// `fallback` when nothing is left.
std::string SafeFileName(const std::string& content_disposition, const std::string& fallback);

}  // namespace stegoctl
