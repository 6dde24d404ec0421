// Malformed input: every way the decoder can be handed bad bytes must end in a DecodeError that
// says where and why, never in a crash or an out-of-bounds read.

#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <variant>

#include "fixture.hpp"
#include "modsync/pgsource/pgoutput_decoder.hpp"

namespace modsync::pgsource {
namespace {

using namespace std::string_view_literals;

// Indexes into pgoutput_v1.hex (see pgoutput_decoder_test.cpp).
constexpr size_t kRelationKinds = 2;
constexpr size_t kInsertKindsFull = 3;
constexpr size_t kCommitFirst = 4;
constexpr size_t kUpdateFullRow = 22;
constexpr size_t kDeleteFullRow = 25;
constexpr size_t kMessageTransactional = 32;
constexpr size_t kTruncate = 46;

const std::vector<std::string>& fixture() {
  static const std::vector<std::string> messages = test::load_fixture("pgoutput_v1.hex");
  return messages;
}

std::string message(size_t index) {
  REQUIRE(index < fixture().size());
  return fixture()[index];
}

void put_u32(std::string& bytes, size_t offset, uint32_t value) {
  REQUIRE(offset + 4 <= bytes.size());
  for (int i = 0; i < 4; ++i) bytes[offset + i] = static_cast<char>(value >> (24 - 8 * i));
}

// The text up to the hint that every DecodeError ends with.
std::string head(const DecodeError& e) {
  std::string what = e.what();
  return what.substr(0, what.find("; the replication stream is corrupt"));
}

std::string decode_error(std::string_view bytes) {
  PgOutputDecoder decoder;
  try {
    decoder.decode(bytes);
  } catch (const DecodeError& e) {
    return head(e);
  }
  FAIL("decode accepted malformed input");
  return {};
}

TEST_CASE("Every truncation of every captured message throws DecodeError", "[pgoutput][corrupt]") {
  std::vector<std::string> all = fixture();
  for (auto& binary : test::load_fixture("pgoutput_v1_binary.hex"))
    all.push_back(std::move(binary));
  PgOutputDecoder decoder;
  size_t checked = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    const std::string& whole = all[i];
    for (size_t length = 0; length < whole.size(); ++length) {
      // A copy sized exactly to the prefix, so an over-read is a heap overflow valgrind sees.
      std::string prefix = whole.substr(0, length);
      INFO("message " << i << " cut to " << length << " of " << whole.size() << " bytes");
      REQUIRE_THROWS_AS(decoder.decode(prefix), DecodeError);
      ++checked;
    }
    REQUIRE_NOTHROW(decoder.decode(whole));
  }
  CHECK(checked > 1000);
}

TEST_CASE("Truncation errors name message, field, offset, need and left", "[pgoutput][corrupt]") {
  CHECK(decode_error("") ==
        "pgoutput (unknown) message truncated: message type at byte 0 needs 1 bytes but 0 are "
        "left (message is 0 bytes)");
  std::string insert = message(kInsertKindsFull);
  // 'I', relation id, 'N', column count, then column 1: kind 't' at 8, length at 9.
  CHECK(decode_error(std::string_view(insert).substr(0, 11)) ==
        "pgoutput Insert message truncated: column 1 length at byte 9 needs 4 bytes but 2 are "
        "left (message is 11 bytes)");
  std::string relation = message(kRelationKinds);
  // 'R', relation id, then "public\0" from byte 5: cut inside the namespace.
  CHECK(decode_error(std::string_view(relation).substr(0, 8)) ==
        "pgoutput Relation message truncated: namespace at byte 5 has no NUL terminator in the 3 "
        "bytes left (message is 8 bytes)");
}

TEST_CASE("A truncated column value reports the value's length", "[pgoutput][corrupt]") {
  std::string insert = message(kInsertKindsFull);
  // Column 1 is id 1: length 1 at bytes 9..12, the value at 13. Cut the value off.
  REQUIRE(insert.substr(8, 6) ==
          "t\x00\x00\x00\x01"
          "1"sv);
  CHECK(decode_error(std::string_view(insert).substr(0, 13)) ==
        "pgoutput Insert message truncated: column 1 value at byte 13 needs 1 bytes but 0 are "
        "left (message is 13 bytes)");
}

TEST_CASE("Unknown message types are rejected", "[pgoutput][corrupt]") {
  CHECK(decode_error("Z"sv) ==
        "pgoutput message: unknown message type 'Z' (0x5a) at byte 0 (message is 1 bytes); "
        "modsync decodes pgoutput protocol version 1 without streaming: check that the slot uses "
        "the pgoutput plugin and that proto_version is 1");
  // Stream Start exists only in protocol version 2 with streaming.
  CHECK_THAT(decode_error("S\x00\x00\x00\x01\x01"sv),
             Catch::StartsWith("pgoutput message: unknown message type 'S' (0x53)"));
  CHECK_THAT(decode_error("\x00"sv),
             Catch::StartsWith("pgoutput message: unknown message type 0x00 at byte 0"));
}

TEST_CASE("Bad tuple kind and tuple markers are rejected", "[pgoutput][corrupt]") {
  std::string insert = message(kInsertKindsFull);
  insert[8] = 'x';
  CHECK(decode_error(insert) ==
        "pgoutput Insert message: column 1 kind at byte 8 is 'x' (0x78), not one of 'n', 'u', "
        "'t', 'b'");

  std::string marker = message(kInsertKindsFull);
  marker[5] = 'K';
  CHECK(decode_error(marker) ==
        "pgoutput Insert message: new tuple marker at byte 5 is 'K' (0x4b), not 'N'");

  std::string update = message(kUpdateFullRow);
  REQUIRE(update[5] == 'O');
  update[5] = 'X';
  CHECK(decode_error(update) ==
        "pgoutput Update message: tuple marker at byte 5 is 'X' (0x58), not one of 'K', 'O', 'N'");

  std::string del = message(kDeleteFullRow);
  REQUIRE(del[5] == 'O');
  del[5] = 'N';
  CHECK(decode_error(del) ==
        "pgoutput Delete message: old tuple marker at byte 5 is 'N' (0x4e), not one of 'K', 'O'");
}

TEST_CASE("Negative lengths and counts are rejected", "[pgoutput][corrupt]") {
  std::string length = message(kInsertKindsFull);
  put_u32(length, 9, 0xffffffff);
  CHECK(decode_error(length) ==
        "pgoutput Insert message: column 1 length at byte 9 is negative (-1)");

  std::string huge = message(kInsertKindsFull);
  put_u32(huge, 9, 0x7fffffff);
  CHECK_THAT(decode_error(huge),
             Catch::StartsWith("pgoutput Insert message truncated: column 1 value at byte 13 "
                               "needs 2147483647 bytes but "));

  std::string columns = message(kInsertKindsFull);
  columns[6] = '\xff';
  columns[7] = '\xfe';
  CHECK(decode_error(columns) ==
        "pgoutput Insert message: new tuple column count at byte 6 is negative (-2)");

  std::string content = message(kMessageTransactional);
  // 'M', flags, LSN, "modsync\0" (bytes 10..17), content length at 18.
  put_u32(content, 18, 0x80000000);
  CHECK(decode_error(content) ==
        "pgoutput Message message: content length at byte 18 is negative (-2147483648)");

  std::string relation = message(kRelationKinds);
  // 'R', id, "public\0", "kinds\0", identity at 18, column count at 19.
  REQUIRE(relation[18] == 'd');
  relation[19] = '\x80';
  CHECK(decode_error(relation) ==
        "pgoutput Relation message: column count at byte 19 is negative (-32753)");

  std::string identity = message(kRelationKinds);
  identity[18] = 'q';
  CHECK(decode_error(identity) ==
        "pgoutput Relation message: replica identity at byte 18 is 'q' (0x71), not one of 'd', "
        "'n', 'f', 'i'");
}

TEST_CASE("A truncate count larger than the message is rejected before allocating",
          "[pgoutput][corrupt]") {
  std::string truncate = message(kTruncate);
  put_u32(truncate, 1, 0xffffffff);
  CHECK(decode_error(truncate) ==
        "pgoutput Truncate message: relation count at byte 1 is 4294967295 but only 8 bytes are "
        "left, room for 2 ids");
}

TEST_CASE("Trailing bytes after a message are rejected", "[pgoutput][corrupt]") {
  std::string commit = message(kCommitFirst);
  REQUIRE(commit.size() == 26);
  CHECK(decode_error(commit + std::string(3, '\0')) ==
        "pgoutput Commit message: 3 trailing bytes after byte 26 (message is 29 bytes)");
  CHECK(decode_error(message(kInsertKindsFull) + "x") ==
        "pgoutput Insert message: 1 trailing bytes after byte " +
            std::to_string(message(kInsertKindsFull).size()) + " (message is " +
            std::to_string(message(kInsertKindsFull).size() + 1) + " bytes)");
}

TEST_CASE("Every DecodeError carries the fix hint and is fatal", "[pgoutput][corrupt]") {
  PgOutputDecoder decoder;
  try {
    decoder.decode("Q"sv);
    FAIL("no exception");
  } catch (const DecodeError& e) {
    CHECK(e.kind() == ErrorKind::kFatal);
  }
  try {
    decoder.decode(std::string_view(message(kCommitFirst)).substr(0, 5));
    FAIL("no exception");
  } catch (const DecodeError& e) {
    CHECK_THAT(e.what(), Catch::EndsWith("check that the slot uses the pgoutput plugin and "
                                         "report the bytes if it does"));
  }
}

}  // namespace
}  // namespace modsync::pgsource
