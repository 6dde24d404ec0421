#include <catch2/catch.hpp>

#include "modsync/config/byte_size.hpp"

using modsync::config::format_byte_size;
using modsync::config::parse_byte_size;

TEST_CASE("byte sizes accept B, KiB, MiB, GiB and bare bytes", "[config][byte_size]") {
  CHECK(parse_byte_size("512") == 512u);
  CHECK(parse_byte_size("512B") == 512u);
  CHECK(parse_byte_size("4KiB") == 4096u);
  CHECK(parse_byte_size("16MiB") == 16u << 20);
  CHECK(parse_byte_size("2GiB") == uint64_t{2} << 30);
  CHECK(parse_byte_size("0") == 0u);
}

TEST_CASE("byte sizes reject decimal units, fractions and overflow", "[config][byte_size]") {
  for (const char* bad : {"", "MiB", "-1MiB", "1.5MiB", "16 MiB", " 16MiB", "16MB", "16mb", "16M",
                          "16kib", "1TiB", "99999999999999999999", "9999999999GiB"}) {
    INFO(bad);
    CHECK_FALSE(parse_byte_size(bad));
  }
}

TEST_CASE("byte sizes print in the largest exact unit", "[config][byte_size]") {
  CHECK(format_byte_size(0) == "0B");
  CHECK(format_byte_size(1536) == "1536B");
  CHECK(format_byte_size(2048) == "2KiB");
  CHECK(format_byte_size(16u << 20) == "16MiB");
  CHECK(format_byte_size(uint64_t{3} << 30) == "3GiB");
}
