#include "cli/download_name.h"

namespace stegoctl {

std::string SafeFileName(const std::string& content_disposition, const std::string& fallback) {
  const std::string key = "filename=\"";
  const auto at = content_disposition.find(key);
  if (at == std::string::npos) return fallback;
  const auto end = content_disposition.find('"', at + key.size());
  std::string name = content_disposition.substr(at + key.size(), end == std::string::npos ? std::string::npos : end - at - key.size());
  if (const auto slash = name.find_last_of("/\\"); slash != std::string::npos) name = name.substr(slash + 1);
  while (!name.empty() && name.front() == '.') name.erase(name.begin());
  for (char& c : name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '_';
  }
  return name.empty() ? fallback : name;
}

}  // namespace stegoctl
