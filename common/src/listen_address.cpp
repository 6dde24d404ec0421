#include "modsync/common/listen_address.hpp"

#include <charconv>

namespace modsync {

std::string ListenAddress::connect_host() const {
  if (host == "0.0.0.0") return "127.0.0.1";
  if (host == "::") return "[::1]";
  if (host.find(':') != std::string::npos) return "[" + host + "]";
  return host;
}

std::optional<ListenAddress> parse_listen_address(std::string_view text, std::string* why) {
  auto malformed = [&](const char* what) -> std::optional<ListenAddress> {
    if (why) *why = what;
    return std::nullopt;
  };
  constexpr const char* kBracketIpv6 = "an IPv6 address must be written as [address]:port";
  ListenAddress address;
  std::string_view port_text;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return malformed(kBracketIpv6);
    }
    address.host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return malformed("no port");
    address.host = std::string(text.substr(0, colon));
    if (address.host.find(':') != std::string::npos) return malformed(kBracketIpv6);
    port_text = text.substr(colon + 1);
  }
  if (address.host.empty()) return malformed("no host");
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
      port > 65535) {
    return malformed("the port must be a number from 0 to 65535");
  }
  address.port = static_cast<uint16_t>(port);
  return address;
}

}  // namespace modsync
