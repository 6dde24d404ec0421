#pragma once
// The one reader of listen addresses (daemon.http.listen): the configuration checks them with it,
// the HTTP server binds what it returns, and `modsync status` derives the daemon's URL from it.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace modsync {

/// A TCP address to listen on. `host` is an IPv4 address, a host name, or an IPv6 address
/// without its brackets; port 0 asks the system for a free port.
struct ListenAddress {
  std::string host;
  uint16_t port = 0;

  /// A host to connect to for reaching this listener: loopback for a wildcard host (0.0.0.0 →
  /// 127.0.0.1, :: → ::1), IPv6 in brackets ("[::1]"); for URLs.
  std::string connect_host() const;

  friend bool operator==(const ListenAddress&, const ListenAddress&) = default;
};

/// Parses "host:port" or "[ipv6]:port" with a port from 0 to 65535. On malformed text returns
/// nullopt and, when `why` is given, sets it to what is wrong ("no port", "no host", "an IPv6
/// address must be written as [address]:port", "the port must be a number from 0 to 65535").
std::optional<ListenAddress> parse_listen_address(std::string_view text,
                                                  std::string* why = nullptr);

}  // namespace modsync
