#include "common/ip_network.h"

#include <charconv>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>

namespace common {

std::optional<IpNetwork> ParseIpNetwork(std::string_view text) {
  namespace ip = boost::asio::ip;
  const auto slash = text.find('/');
  boost::system::error_code ec;
  const ip::address address = ip::make_address(std::string(text.substr(0, slash)), ec);
  if (ec) return std::nullopt;
  const unsigned longest = address.is_v4() ? 32 : 128;
  unsigned prefix = longest;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    const auto [end, err] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (digits.empty() || err != std::errc() || end != digits.data() + digits.size() || prefix > longest) {
      return std::nullopt;
    }
  }
  const ip::address first = address.is_v4()
                                ? ip::address(ip::make_network_v4(address.to_v4(), prefix).canonical().address())
                                : ip::address(ip::make_network_v6(address.to_v6(), prefix).canonical().address());
  return IpNetwork{first.to_string(), prefix};
}

}  // namespace common
