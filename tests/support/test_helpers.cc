#include "tests/support/test_helpers.h"

#include <algorithm>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include "common/base64.h"

namespace testsupport {

std::uint16_t FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  const bool ok = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  if (fd >= 0) ::close(fd);
  if (!ok) throw std::runtime_error("cannot find a free loopback port");
  return ntohs(a.sin_port);
}

std::chrono::milliseconds ScaledWait(std::chrono::milliseconds limit) {
  static const int scale = [] {
    const char* text = std::getenv("STEGO_TEST_TIME_SCALE");
    const int value = text ? std::atoi(text) : 1;
    return value > 0 ? value : 1;
  }();
  return limit * scale;
}

void StartRetryingTakenPorts(const std::function<void()>& start, const std::function<void()>& repick) {
  for (int attempt = 1;; ++attempt) {
    try {
      start();
      return;
    } catch (const std::runtime_error& e) {
      if (attempt == 3 || std::string_view(e.what()).find("Address already in use") == std::string_view::npos) throw;
      std::cerr << "a port was taken before its process bound it; starting again on fresh ports\n";
    }
    repick();
  }
}

std::filesystem::path FreshScratchDirectory(std::string_view prefix, std::string_view test) {
  const auto dir = std::filesystem::temp_directory_path() /
                   (std::string(prefix) + "-" + std::to_string(::getpid()) + "-" + std::string(test));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

std::string FromBase64(const std::string& text) {
  std::optional<std::string> bytes = common::Base64Decode(text);
  if (!bytes) throw std::invalid_argument("not base64");
  return std::move(*bytes);
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(p / 100.0 * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(rank, values.size() - 1)];
}

}  // namespace testsupport
