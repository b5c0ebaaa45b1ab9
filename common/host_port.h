// "host:port" addresses as flags give them, for the worker and the operator alike.
#pragma once

#include <cstdint>
#include <string>

#include "common/expected.h"

namespace common {

struct HostPort {
  std::string host;
  std::uint16_t port = 0;
};

// "host:port", "[v6]:port" or ":port" (host 0.0.0.0); the port 0-65535. Error: what is wrong.
Expected<HostPort, std::string> ParseHostPort(const std::string& text);

}  // namespace common
