#include <catch2/catch.hpp>

#include "modsync/common/lsn.hpp"

using modsync::Lsn;
using modsync::Position;

TEST_CASE("Lsn parses and prints PostgreSQL's X/X form", "[lsn]") {
  auto lsn = Lsn::parse("16/B374D848");
  REQUIRE(lsn);
  CHECK(lsn->value() == 0x16B374D848ull);
  CHECK(lsn->to_string() == "16/B374D848");
  CHECK(Lsn::parse("0/0")->is_zero());
  CHECK(Lsn::parse("FFFFFFFF/FFFFFFFF")->value() == ~0ull);
  CHECK(Lsn{0}.to_string() == "0/0");
  CHECK(Lsn{~0ull}.to_string() == "FFFFFFFF/FFFFFFFF");
  CHECK(Lsn{0xABCDEFull << 32 | 0x10}.to_string() == "ABCDEF/10");
}

TEST_CASE("Lsn rejects malformed text", "[lsn]") {
  for (const char* bad : {"", "/", "1/", "/1", "1", "1/2/3", "G/1", "1/ 2", "100000000/0"}) {
    INFO(bad);
    CHECK_FALSE(Lsn::parse(bad));
  }
}

TEST_CASE("Positions order by commit LSN, then index", "[lsn]") {
  Position a{Lsn{10}, 5}, b{Lsn{10}, 6}, c{Lsn{11}, 0};
  CHECK(a < b);
  CHECK(b < c);
  CHECK(a.to_string() == "0/A#5");
}
