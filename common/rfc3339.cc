#include "common/rfc3339.h"

#include <cstdio>
#include <ctime>

namespace common {

std::string FormatRfc3339(std::chrono::system_clock::time_point t, int fraction_digits) {
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch());
  const auto seconds = std::chrono::floor<std::chrono::seconds>(micros);
  const std::time_t whole = seconds.count();
  std::tm utc{};
  gmtime_r(&whole, &utc);
  char buf[48];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
  if (fraction_digits > 0) {
    long long fraction = (micros - seconds).count();
    for (int d = 6; d > fraction_digits; --d) fraction /= 10;
    n += static_cast<std::size_t>(std::snprintf(buf + n, sizeof buf - n, ".%0*lld", fraction_digits, fraction));
  }
  return std::string(buf, n) + "Z";
}

}  // namespace common
