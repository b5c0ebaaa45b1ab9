#include "worker/api/sanitize.h"

#include <cstdint>

namespace api {

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

std::string SafeMime(std::string_view mime) {
  const bool has_slash = mime.find('/') != std::string_view::npos;
  bool printable = !mime.empty() && mime.size() <= 127;
  for (char ch : mime) printable = printable && ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\';
  return has_slash && printable ? std::string(mime) : std::string("application/octet-stream");
}

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

}  // namespace api
