#include "common/host_port.h"

#include <charconv>

namespace common {

Expected<HostPort, std::string> ParseHostPort(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) return Unexpected{"'" + text + "' is not host:port"};
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  const std::string port_text = text.substr(colon + 1);
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
    return Unexpected{"'" + port_text + "' is not a port number (0-65535)"};
  }
  return HostPort{host, static_cast<uint16_t>(port)};
}

}  // namespace common
