#include <catch2/catch.hpp>

#include <string>

#include "modsync/common/listen_address.hpp"

using modsync::ListenAddress;
using modsync::parse_listen_address;

TEST_CASE("listen addresses: host:port and [ipv6]:port, port 0 to 65535", "[listen]") {
  CHECK(parse_listen_address("127.0.0.1:9187") == ListenAddress{"127.0.0.1", 9187});
  CHECK(parse_listen_address("[::1]:9187") == ListenAddress{"::1", 9187});
  CHECK(parse_listen_address("localhost:65535") == ListenAddress{"localhost", 65535});
  // Port 0 asks for a free port; the configuration refuses it (nobody could find the daemon).
  CHECK(parse_listen_address("0.0.0.0:0") == ListenAddress{"0.0.0.0", 0});
}

TEST_CASE("malformed listen addresses say what is wrong", "[listen]") {
  const auto why = [](std::string_view text) {
    std::string w;
    CHECK_FALSE(parse_listen_address(text, &w));
    return w;
  };
  CHECK(why("localhost") == "no port");
  CHECK(why("") == "no port");
  CHECK(why(":9187") == "no host");
  CHECK(why("[]:9187") == "no host");
  CHECK(why("::1:9187") == "an IPv6 address must be written as [address]:port");
  CHECK(why("[::1]9187") == "an IPv6 address must be written as [address]:port");
  CHECK(why("[::1") == "an IPv6 address must be written as [address]:port");
  for (const char* bad : {"h:", "h:99999", "h:-1", "h:12x", "h: 1", "h:+1"}) {
    CAPTURE(bad);
    CHECK(why(bad) == "the port must be a number from 0 to 65535");
  }
}

TEST_CASE("a wildcard listen address is reached through loopback", "[listen]") {
  CHECK(parse_listen_address("0.0.0.0:1")->connect_host() == "127.0.0.1");
  CHECK(parse_listen_address("[::]:1")->connect_host() == "[::1]");
  CHECK(parse_listen_address("[fe80::1]:1")->connect_host() == "[fe80::1]");
  CHECK(parse_listen_address("db.local:1")->connect_host() == "db.local");
}
