#include <catch2/catch.hpp>

#include <string>

#include "modsync/common/json_string.hpp"
#include "modsync/common/time.hpp"

using modsync::format_rfc3339_ms;

TEST_CASE("RFC 3339 times are UTC with milliseconds across calendar edges", "[time]") {
  CHECK(format_rfc3339_ms(0) == "1970-01-01T00:00:00.000Z");
  CHECK(format_rfc3339_ms(1764176400123) == "2025-11-26T17:00:00.123Z");
  CHECK(format_rfc3339_ms(951782400000) == "2000-02-29T00:00:00.000Z");  // leap day
  CHECK(format_rfc3339_ms(253402300799999) == "9999-12-31T23:59:59.999Z");
  CHECK(format_rfc3339_ms(253402300800000) == "10000-01-01T00:00:00.000Z");
}

// Regression (issue 10): the status command's formatter printed -1 ms as
// "1970-01-01T00:00:00.-01Z" and the checkpoint listing's as "1970-01-01T00:00:00.001Z": both
// truncated toward zero instead of flooring.
TEST_CASE("RFC 3339 times before 1970 floor to the earlier millisecond", "[time]") {
  CHECK(format_rfc3339_ms(-1) == "1969-12-31T23:59:59.999Z");
  CHECK(format_rfc3339_ms(-1000) == "1969-12-31T23:59:59.000Z");
  CHECK(format_rfc3339_ms(-1001) == "1969-12-31T23:59:58.999Z");
  CHECK(format_rfc3339_ms(-86'400'000) == "1969-12-31T00:00:00.000Z");
  CHECK(format_rfc3339_ms(-62'135'596'800'001) == "0000-12-31T23:59:59.999Z");
  CHECK(format_rfc3339_ms(-62'198'755'200'000) == "-0001-01-01T00:00:00.000Z");
}

TEST_CASE("append_rfc3339_ms appends to what the buffer holds", "[time]") {
  std::string out = "at ";
  modsync::append_rfc3339_ms(1, out);
  CHECK(out == "at 1970-01-01T00:00:00.001Z");
}

TEST_CASE("the clocks read milliseconds", "[time]") {
  CHECK(modsync::now_unix_ms() > 1764176400000);  // after this code was written
  const int64_t a = modsync::steady_now_ms();
  CHECK(modsync::steady_now_ms() >= a);
}

TEST_CASE("JSON strings escape quotes, backslashes and control characters", "[json]") {
  CHECK(modsync::json_quoted("") == "\"\"");
  CHECK(modsync::json_quoted("plain text, longer than eight bytes") ==
        "\"plain text, longer than eight bytes\"");
  CHECK(modsync::json_quoted(std::string("a\"b\\c\nd\re\tf\bg\fh\x01i\x1fj\0k", 21)) ==
        R"("a\"b\\c\nd\re\tf\bg\fh\u0001i\u001fj\u0000k")");
  // UTF-8 and DEL pass through: JSON needs no escape for them.
  CHECK(modsync::json_quoted("caf\xc3\xa9\x7f") == "\"caf\xc3\xa9\x7f\"");
  // A character to escape past the first eight-byte word.
  CHECK(modsync::json_quoted("0123456789\"") == R"("0123456789\"")");
  std::string out = "x=";
  modsync::append_json_string("y", out);
  CHECK(out == "x=\"y\"");
}
