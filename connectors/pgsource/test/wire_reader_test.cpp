#include "wire_reader.hpp"

#include <catch2/catch.hpp>

#include <limits>
#include <string>

namespace modsync::pgsource {
namespace {

using namespace std::string_view_literals;

TEST_CASE("WireReader reads big-endian integers of every width", "[wire]") {
  const auto bytes = "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"sv;
  WireReader in(bytes, "Test");
  CHECK(in.u8({"a"}) == 0x01);
  CHECK(in.u16({"b"}) == 0x0203);
  CHECK(in.u32({"c"}) == 0x04050607u);
  CHECK(in.u64({"d"}) == 0x08090a0b0c0d0e0full);
  CHECK(in.remaining() == 0);
  in.expect_end();
}

TEST_CASE("WireReader sign-extends signed reads", "[wire]") {
  const auto bytes =
      "\xff\xfe\xff\xff\xff\xfd\xff\xff\xff\xff\xff\xff\xff\xfc\x80\x00\x00\x00\x00\x00\x00\x00"sv;
  WireReader in(bytes, "Test");
  CHECK(in.i16({"a"}) == -2);
  CHECK(in.i32({"b"}) == -3);
  CHECK(in.i64({"c"}) == -4);
  CHECK(in.i64({"d"}) == std::numeric_limits<int64_t>::min());
}

TEST_CASE("WireReader reads NUL-terminated strings and byte runs as views", "[wire]") {
  const auto bytes = "public\0\0abc"sv;
  WireReader in(bytes, "Test");
  std::string_view first = in.cstring({"namespace"});
  CHECK(first == "public");
  CHECK(first.data() == bytes.data());
  CHECK(in.cstring({"empty"}).empty());
  CHECK(in.offset() == 8);
  CHECK(in.bytes(3, {"run"}) == "abc");
  in.expect_end();
}

TEST_CASE("WireReader reports short reads with field, offset, need and left", "[wire]") {
  WireReader in("\x00\x00\x00\x01\x00\x02"sv, "Insert");
  in.u32({"relation id"});
  REQUIRE_THROWS_WITH(
      in.u32({"column", 3, "length"}),
      Catch::StartsWith("pgoutput Insert message truncated: column 3 length at "
                        "byte 4 needs 4 bytes but 2 are left (message is 6 bytes)"));
  // A failed read consumes nothing.
  CHECK(in.offset() == 4);
  CHECK(in.u16({"x"}) == 2);
}

TEST_CASE("WireReader rejects a string without terminator", "[wire]") {
  WireReader in("abc"sv, "Relation");
  REQUIRE_THROWS_AS(in.cstring({"relation name"}), DecodeError);
  REQUIRE_THROWS_WITH(in.cstring({"relation name"}),
                      Catch::StartsWith("pgoutput Relation message truncated: relation name at "
                                        "byte 0 has no NUL terminator in the 3 bytes left"));
}

TEST_CASE("WireReader rejects trailing bytes and oversized runs", "[wire]") {
  WireReader in("\x01\x02\x03"sv, "Commit");
  in.u8({"flags"});
  REQUIRE_THROWS_WITH(in.expect_end(),
                      Catch::StartsWith("pgoutput Commit message: 2 trailing bytes after byte 1 "
                                        "(message is 3 bytes)"));
  REQUIRE_THROWS_AS(in.bytes(std::numeric_limits<size_t>::max(), {"content"}), DecodeError);
}

TEST_CASE("DecodeError is fatal", "[wire]") {
  WireReader in(""sv, "Begin");
  try {
    in.u8({"x"});
    FAIL("no exception");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::kFatal);
  }
}

}  // namespace
}  // namespace modsync::pgsource
