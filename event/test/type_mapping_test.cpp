#include <catch2/catch.hpp>

#include <string>

#include "modsync/event/envelope.hpp"
#include "modsync/event/pg_types.hpp"

namespace pg = modsync::event::pg;
using modsync::event::append_json_string;
using modsync::event::append_json_value;

namespace {

std::string json(uint32_t oid, std::string_view text) {
  std::string out;
  append_json_value(oid, text, out);
  return out;
}

std::string quoted(std::string_view text) {
  std::string out;
  append_json_string(text, out);
  return out;
}

}  // namespace

TEST_CASE("JSON strings escape quotes, backslashes and control characters", "[types]") {
  CHECK(quoted("plain") == R"("plain")");
  CHECK(quoted(R"(say "hi")") == R"("say \"hi\"")");
  CHECK(quoted(R"(C:\dir\)") == R"("C:\\dir\\")");
  CHECK(quoted("a\nb\rc\td\be\ff") == R"("a\nb\rc\td\be\ff")");
  CHECK(quoted(std::string_view("\x00\x01\x1f", 3)) == R"("\u0000\u0001\u001f")");
  CHECK(quoted("\x7f") == "\"\x7f\"");
  CHECK(quoted("") == R"("")");
}

TEST_CASE("JSON strings pass non-ASCII UTF-8 through unchanged", "[types]") {
  const std::string text = "Zürich – 東京 🚀";
  CHECK(quoted(text) == "\"" + text + "\"");
  CHECK(json(pg::kTextOid, text) == "\"" + text + "\"");
}

TEST_CASE("appending keeps what the buffer already holds", "[types]") {
  std::string out = "prefix:";
  append_json_value(pg::kInt4Oid, "7", out);
  append_json_value(pg::kTextOid, "x", out);
  CHECK(out == R"(prefix:7"x")");
}

TEST_CASE("bool maps to true/false", "[types]") {
  CHECK(json(pg::kBoolOid, "t") == "true");
  CHECK(json(pg::kBoolOid, "f") == "false");
  CHECK(json(pg::kBoolOid, "maybe") == R"("maybe")");
}

TEST_CASE("integers and oid map to JSON numbers", "[types]") {
  CHECK(json(pg::kInt2Oid, "-32768") == "-32768");
  CHECK(json(pg::kInt4Oid, "0") == "0");
  CHECK(json(pg::kInt4Oid, "2147483647") == "2147483647");
  CHECK(json(pg::kOidOid, "4294967295") == "4294967295");
  CHECK(json(pg::kInt8Oid, "-9223372036854775808") == "-9223372036854775808");
  CHECK(json(pg::kInt8Oid, "9007199254740993") == "9007199254740993");
}

TEST_CASE("text that is not a JSON number becomes a string", "[types]") {
  CHECK(json(pg::kInt4Oid, "") == R"("")");
  CHECK(json(pg::kInt4Oid, "+1") == R"("+1")");
  CHECK(json(pg::kInt4Oid, "007") == R"("007")");
  CHECK(json(pg::kInt4Oid, "1 ") == R"("1 ")");
  CHECK(json(pg::kFloat8Oid, "1.") == R"("1.")");
  CHECK(json(pg::kFloat8Oid, ".5") == R"(".5")");
  CHECK(json(pg::kFloat8Oid, "1e") == R"("1e")");
}

TEST_CASE("floats map to numbers, special values to strings", "[types]") {
  CHECK(json(pg::kFloat8Oid, "3.141592653589793") == "3.141592653589793");
  CHECK(json(pg::kFloat8Oid, "-0") == "-0.0");
  CHECK(json(pg::kFloat8Oid, "1e+300") == "1e+300");
  CHECK(json(pg::kFloat4Oid, "1.2345e-05") == "1.2345e-05");
  CHECK(json(pg::kFloat8Oid, "NaN") == R"("NaN")");
  CHECK(json(pg::kFloat8Oid, "Infinity") == R"("Infinity")");
  CHECK(json(pg::kFloat4Oid, "-Infinity") == R"("-Infinity")");
  // Beyond a double's range (never printed by PostgreSQL; found by the pgoutput fuzzer):
  // simdjson refuses such a number, so it stays text.
  CHECK(json(pg::kFloat8Oid, "1.7976931348623157e+308") == "1.7976931348623157e+308");
  CHECK(json(pg::kFloat8Oid, "1.5e607") == R"("1.5e607")");
  CHECK(json(pg::kFloat8Oid, "-25e307") == R"("-25e307")");
  CHECK(json(pg::kFloat8Oid, "4.9e-324") == "4.9e-324");
  CHECK(json(pg::kFloat8Oid, "1" + std::string(400, '0')) ==
        '"' + ("1" + std::string(400, '0')) + '"');
}

TEST_CASE("numeric and money map to exact strings", "[types]") {
  CHECK(json(pg::kNumericOid, "12345678901234567890.000000000001") ==
        R"("12345678901234567890.000000000001")");
  CHECK(json(pg::kNumericOid, "NaN") == R"("NaN")");
  CHECK(json(pg::kNumericOid, "-Infinity") == R"("-Infinity")");
  CHECK(json(pg::kMoneyOid, "$1,234.50") == R"("$1,234.50")");
}

TEST_CASE("character types, uuid, network, bit strings and others map to strings", "[types]") {
  CHECK(json(pg::kVarcharOid, "v") == R"("v")");
  CHECK(json(pg::kBpcharOid, "ab  ") == R"("ab  ")");
  CHECK(json(pg::kNameOid, "pg_class") == R"("pg_class")");
  CHECK(json(pg::kCharOid, "x") == R"("x")");
  CHECK(json(pg::kUuidOid, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11") ==
        R"("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")");
  CHECK(json(pg::kInetOid, "192.168.0.1/24") == R"("192.168.0.1/24")");
  CHECK(json(pg::kCidrOid, "10.0.0.0/8") == R"("10.0.0.0/8")");
  CHECK(json(pg::kMacaddrOid, "08:00:2b:01:02:03") == R"("08:00:2b:01:02:03")");
  CHECK(json(pg::kBitOid, "101") == R"("101")");
  CHECK(json(pg::kVarbitOid, "0011") == R"("0011")");
  CHECK(json(pg::kTsVectorOid, "'a':1 'fat':2") == R"("'a':1 'fat':2")");
  CHECK(json(pg::kJsonPathOid, R"($."a")") == R"("$.\"a\"")");
  CHECK(json(pg::kXmlOid, R"(<a x="1"/>)") == R"("<a x=\"1\"/>")");
  CHECK(json(pg::kIntervalOid, "1 year 2 mons 3 days 04:05:06.5") ==
        R"("1 year 2 mons 3 days 04:05:06.5")");
  CHECK(json(pg::kTimeOid, "03:04:05.123456") == R"("03:04:05.123456")");
}

TEST_CASE("enums and unknown or user-defined types map to strings", "[types]") {
  CHECK(json(16'385, "happy") == R"("happy")");
  CHECK(json(99'999, "{1,2}") == R"("{1,2}")");
  CHECK(json(0, "42") == R"("42")");
}

TEST_CASE("bytea in hex form maps to base64", "[types]") {
  CHECK(json(pg::kByteaOid, R"(\x)") == R"("")");
  CHECK(json(pg::kByteaOid, R"(\x66)") == R"("Zg==")");
  CHECK(json(pg::kByteaOid, R"(\x666f)") == R"("Zm8=")");
  CHECK(json(pg::kByteaOid, R"(\x666f6f)") == R"("Zm9v")");
  CHECK(json(pg::kByteaOid, R"(\x666F6F626172)") == R"("Zm9vYmFy")");
  CHECK(json(pg::kByteaOid, R"(\x00ff10)") == R"("AP8Q")");
}

TEST_CASE("bytea longer than one decoding chunk keeps every byte", "[types]") {
  std::string hex = R"(\x)";
  std::string expected = "\"";
  for (int i = 0; i < 1000; ++i) hex += "666f6f";
  for (int i = 0; i < 1000; ++i) expected += "Zm9v";
  expected += "\"";
  CHECK(json(pg::kByteaOid, hex) == expected);
}

TEST_CASE("bytea in escape form maps to base64 and malformed bytea stays a string", "[types]") {
  CHECK(json(pg::kByteaOid, R"(foo)") == R"("Zm9v")");
  CHECK(json(pg::kByteaOid, R"(\000\377\\)") == R"("AP9c")");
  CHECK(json(pg::kByteaOid, R"(\x6)") == R"("\\x6")");
  CHECK(json(pg::kByteaOid, R"(\xzz)") == R"("\\xzz")");
  CHECK(json(pg::kByteaOid, R"(\9)") == R"("\\9")");
}

TEST_CASE("timestamptz becomes ISO 8601 with its offset", "[types]") {
  CHECK(json(pg::kTimestampTzOid, "2024-01-02 03:04:05.123+00") == R"("2024-01-02T03:04:05.123Z")");
  CHECK(json(pg::kTimestampTzOid, "2024-01-02 03:04:05+02") == R"("2024-01-02T03:04:05+02:00")");
  CHECK(json(pg::kTimestampTzOid, "2024-01-02 03:04:05.5+05:30") ==
        R"("2024-01-02T03:04:05.5+05:30")");
  CHECK(json(pg::kTimestampTzOid, "2024-01-02 03:04:05.123456-08") ==
        R"("2024-01-02T03:04:05.123456-08:00")");
  CHECK(json(pg::kTimestampTzOid, "1850-01-01 00:00:00+00:53:28") ==
        R"("1850-01-01T00:00:00+00:53:28")");
  CHECK(json(pg::kTimestampTzOid, "0044-03-15 12:00:00+00 BC") == R"("-0043-03-15T12:00:00Z")");
  CHECK(json(pg::kTimestampTzOid, "0001-01-01 00:00:00+00 BC") == R"("0000-01-01T00:00:00Z")");
  CHECK(json(pg::kTimestampTzOid, "12345-06-07 00:00:00+00") == R"("12345-06-07T00:00:00Z")");
}

TEST_CASE("timestamp becomes ISO 8601 without zone", "[types]") {
  CHECK(json(pg::kTimestampOid, "2024-01-02 03:04:05.123") == R"("2024-01-02T03:04:05.123")");
  CHECK(json(pg::kTimestampOid, "2024-01-02 03:04:05") == R"("2024-01-02T03:04:05")");
  CHECK(json(pg::kTimestampOid, "2000-02-29 23:59:59.999999 BC") ==
        R"("-1999-02-29T23:59:59.999999")");
}

TEST_CASE("infinite and unexpected timestamps stay as PostgreSQL printed them", "[types]") {
  CHECK(json(pg::kTimestampTzOid, "infinity") == R"("infinity")");
  CHECK(json(pg::kTimestampTzOid, "-infinity") == R"("-infinity")");
  CHECK(json(pg::kTimestampOid, "infinity") == R"("infinity")");
  CHECK(json(pg::kDateOid, "-infinity") == R"("-infinity")");
  // DateStyle other than ISO is not rewritten.
  CHECK(json(pg::kTimestampTzOid, "Tue Jan 02 03:04:05 2024 PST") ==
        R"("Tue Jan 02 03:04:05 2024 PST")");
  CHECK(json(pg::kTimestampOid, "2024-01-02 03:04:05+00") == R"("2024-01-02 03:04:05+00")");
  CHECK(json(pg::kTimestampTzOid, "2024-01-02 03:04:05") == R"("2024-01-02 03:04:05")");
}

TEST_CASE("date stays ISO and BC years become ISO years", "[types]") {
  CHECK(json(pg::kDateOid, "2024-02-29") == R"("2024-02-29")");
  CHECK(json(pg::kDateOid, "0010-01-01 BC") == R"("-0009-01-01")");
  CHECK(json(pg::kDateOid, "02/29/2024") == R"("02/29/2024")");
}

TEST_CASE("timetz normalizes its offset", "[types]") {
  CHECK(json(pg::kTimeTzOid, "03:04:05+00") == R"("03:04:05Z")");
  CHECK(json(pg::kTimeTzOid, "03:04:05.25-08") == R"("03:04:05.25-08:00")");
  CHECK(json(pg::kTimeTzOid, "03:04:05+05:30") == R"("03:04:05+05:30")");
}

TEST_CASE("negative zero keeps its sign for readers that read -0 as an integer", "[types]") {
  CHECK(json(pg::kFloat8Oid, "-0") == "-0.0");
  CHECK(json(pg::kFloat4ArrayOid, "{-0,0}") == "[-0.0,0]");
}

TEST_CASE("json and jsonb are strings of their exact text", "[types]") {
  CHECK(json(pg::kJsonbOid, R"({"a": [1, "x"], "b": null})") ==
        R"("{\"a\": [1, \"x\"], \"b\": null}")");
  // Whitespace, duplicate keys and number spelling are the json value itself.
  CHECK(json(pg::kJsonOid, "  [1,2.50]\n") == R"("  [1,2.50]\n")");
  CHECK(json(pg::kJsonOid, R"({"a":1,"a":2})") == R"("{\"a\":1,\"a\":2}")");
  // Beyond 64 bits: only a string reaches every reader whole.
  CHECK(json(pg::kJsonbOid, "12345678901234567890123.5") == R"("12345678901234567890123.5")");
  // JSON null is the string "null"; SQL NULL is JSON null (not written by append_json_value).
  CHECK(json(pg::kJsonOid, "null") == R"("null")");
  CHECK(json(pg::kJsonbArrayOid, R"({"null",NULL,"{\"k\": 1}"})") ==
        R"(["null",null,"{\"k\": 1}"])");
}

TEST_CASE("ranges and multiranges stay as PostgreSQL prints them", "[types]") {
  CHECK(json(pg::kInt4RangeOid, "[1,10)") == R"j("[1,10)")j");
  CHECK(json(pg::kInt8RangeOid, "empty") == R"("empty")");
  CHECK(json(pg::kNumRangeOid, "(1.5,2.5]") == R"("(1.5,2.5]")");
  CHECK(json(pg::kTstzRangeOid, R"j(["2024-01-01 00:00:00+00",))j") ==
        R"j("[\"2024-01-01 00:00:00+00\",)")j");
  CHECK(json(pg::kDateRangeOid, "[2024-01-01,2024-02-01)") == R"j("[2024-01-01,2024-02-01)")j");
  CHECK(json(pg::kInt4MultirangeOid, "{[1,3),[5,7)}") == R"j("{[1,3),[5,7)}")j");
}

TEST_CASE("arrays map to JSON arrays with elements mapped by element type", "[types][arrays]") {
  CHECK(json(pg::kInt4ArrayOid, "{1,2,NULL}") == "[1,2,null]");
  CHECK(json(pg::kInt4ArrayOid, "{}") == "[]");
  CHECK(json(pg::kInt8ArrayOid, "{{1,2},{3,4}}") == "[[1,2],[3,4]]");
  CHECK(json(pg::kInt4ArrayOid, "{{{1},{2}},{{3},{4}}}") == "[[[1],[2]],[[3],[4]]]");
  CHECK(json(pg::kBoolArrayOid, "{t,f}") == "[true,false]");
  CHECK(json(pg::kFloat8ArrayOid, "{1.5,NaN,-Infinity}") == R"([1.5,"NaN","-Infinity"])");
  CHECK(json(pg::kNumericArrayOid, "{1.10,NaN}") == R"(["1.10","NaN"])");
}

TEST_CASE("text arrays unquote and unescape their elements", "[types][arrays]") {
  CHECK(json(pg::kTextArrayOid, R"({"a b","c\"d"})") == R"(["a b","c\"d"])");
  CHECK(json(pg::kTextArrayOid, R"({"back\\slash","NULL",NULL,""})") ==
        R"(["back\\slash","NULL",null,""])");
  CHECK(json(pg::kTextArrayOid, R"({"{x}","a,b"," pad "})") == R"(["{x}","a,b"," pad "])");
  CHECK(json(pg::kTextArrayOid, "{\"line\nbreak\",é,日本}") == R"(["line\nbreak","é","日本"])");
  CHECK(json(pg::kVarcharArrayOid, "{{a,b},{\"c d\",NULL}}") == R"([["a","b"],["c d",null]])");
  CHECK(json(pg::kTextArrayOid, R"({a\,b,null})") == R"(["a,b",null])");
}

TEST_CASE("array elements of typed kinds are mapped like scalars", "[types][arrays]") {
  CHECK(json(pg::kByteaArrayOid, R"({"\\x666f6f",NULL})") == R"(["Zm9v",null])");
  CHECK(json(pg::kTimestampTzArrayOid, R"({"2024-01-02 03:04:05+00","infinity"})") ==
        R"(["2024-01-02T03:04:05Z","infinity"])");
  CHECK(json(pg::kJsonbArrayOid, R"({"{\"a\": 1}","[2]"})") == R"(["{\"a\": 1}","[2]"])");
  CHECK(json(pg::kUuidArrayOid, "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}") ==
        R"(["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"])");
  CHECK(json(pg::kInt4RangeArrayOid, R"j({"[1,3)","[5,7)"})j") == R"j(["[1,3)","[5,7)"])j");
  CHECK(json(pg::kBoxArrayOid, "{(1,1),(0,0);(2,2),(1,1)}") ==
        R"j(["(1,1),(0,0)","(2,2),(1,1)"])j");
}

TEST_CASE("arrays that are not plain literals stay strings", "[types][arrays]") {
  CHECK(json(pg::kInt4ArrayOid, "[0:1]={1,2}") == R"("[0:1]={1,2}")");
  CHECK(json(pg::kInt4ArrayOid, "{1,2") == R"("{1,2")");
  CHECK(json(pg::kInt4ArrayOid, "{1,,2}") == R"("{1,,2}")");
  CHECK(json(pg::kTextArrayOid, R"({"open})") == R"("{\"open}")");
  CHECK(json(pg::kInt4ArrayOid, "{1}}") == R"("{1}}")");
  CHECK(json(pg::kInt4ArrayOid, "{{{{{{{1}}}}}}}") == R"("{{{{{{{1}}}}}}}")");
}

TEST_CASE("built-in array OIDs know their element types", "[types][arrays]") {
  STATIC_REQUIRE(pg::array_element_oid(1007) == pg::kInt4Oid);
  STATIC_REQUIRE(pg::array_element_oid(1009) == pg::kTextOid);
  STATIC_REQUIRE(pg::array_element_oid(pg::kTimestampTzArrayOid) == 1184);
  STATIC_REQUIRE(pg::array_element_oid(pg::kInt4Oid) == 0);
  STATIC_REQUIRE(pg::array_element_oid(pg::kInt4RangeOid) == 0);
}

TEST_CASE("escaping finds special characters at every offset of long text", "[types]") {
  // The scan tests eight bytes at a time; put each special byte at every position of a
  // 20-byte string with non-ASCII neighbours and compare with the byte-by-byte answer.
  const std::string filler = "abc\xc3\xa9\xe6\x97\xa5xyz0123456789";
  for (const char special : {'"', '\\', '\n', '\x01', '\x1f', '\0'}) {
    for (std::size_t at = 0; at < 20; ++at) {
      std::string text = filler.substr(0, 20);
      text[at] = special;
      std::string expected = "\"";
      for (const char c : text) {
        if (c == special) {
          expected += special == '"'    ? "\\\""
                      : special == '\\' ? "\\\\"
                      : special == '\n' ? "\\n"
                      : special == '\1' ? "\\u0001"
                      : special == '\0' ? "\\u0000"
                                        : "\\u001f";
        } else {
          expected += c;
        }
      }
      expected += "\"";
      INFO("special " << int(special) << " at " << at);
      CHECK(quoted(text) == expected);
    }
  }
  CHECK(quoted(std::string(40, ' ') + "\x7f\x80\xff" + std::string(9, 'a')) ==
        "\"" + std::string(40, ' ') + "\x7f\x80\xff" + std::string(9, 'a') + "\"");
}
