#include "modsync/pgsource/copy_text_parser.hpp"

#include <catch2/catch.hpp>

#include <string>

#include "modsync/common/error.hpp"
#include "modsync/pgsource/snapshot_reader.hpp"

namespace modsync::pgsource {
namespace {

using namespace std::string_view_literals;
using Kind = event::ColumnValue::Kind;

TEST_CASE("CopyTextParser splits a row into its fields", "[copy]") {
  CopyTextParser p;
  p.parse("1\tabc\t\t3.50\n"sv, 4, "t");
  const auto& v = p.values();
  REQUIRE(v.size() == 4);
  CHECK(v[0].kind == Kind::kText);
  CHECK(v[0].data == "1");
  CHECK(v[1].data == "abc");
  CHECK(v[2].kind == Kind::kText);  // an empty string, not NULL
  CHECK(v[2].data.empty());
  CHECK(v[3].data == "3.50");
}

TEST_CASE("CopyTextParser reads a lone backslash-N as NULL, and an escaped one as text", "[copy]") {
  CopyTextParser p;
  p.parse("\\N\t\\\\N\tx\\N"sv, 3, "t");
  const auto& v = p.values();
  CHECK(v[0].kind == Kind::kNull);
  CHECK(v[1].kind == Kind::kText);
  CHECK(v[1].data == "\\N");
  CHECK(v[2].data == "xN");  // COPY never writes it; a backslash before another byte is that byte
}

TEST_CASE("CopyTextParser undoes every escape COPY TO writes", "[copy]") {
  CopyTextParser p;
  p.parse("a\\tb\\nc\\rd\\\\e\\bf\\fg\\vh\t{\"k\": \"x\\\\\"y\"}\n"sv, 2, "t");
  const auto& v = p.values();
  CHECK(v[0].data == "a\tb\nc\rd\\e\bf\fg\vh");
  CHECK(v[1].data == "{\"k\": \"x\\\"y\"}");
}

TEST_CASE("CopyTextParser reads the octal and hex escapes of COPY's input format", "[copy]") {
  CopyTextParser p;
  p.parse("\\101\\x42\\x4a\\7z\\xq"sv, 1, "t");
  CHECK(p.values()[0].data ==
        "ABJ\az"
        "xq");
}

TEST_CASE("CopyTextParser keeps values of several escaped fields apart", "[copy]") {
  // The unescape buffer grows while later fields are written: earlier views must follow it.
  std::string big(5000, 'y');
  const std::string row = "p\\tq\t" + big + "\\n\tplain\tr\\\\s";
  CopyTextParser p;
  p.parse(row, 4, "t");
  const auto& v = p.values();
  CHECK(v[0].data == "p\tq");
  CHECK(v[1].data == big + "\n");
  CHECK(v[2].data == "plain");
  CHECK(v[3].data == "r\\s");
}

TEST_CASE("CopyTextParser reuses its values for the next row", "[copy]") {
  CopyTextParser p;
  p.parse("a\\tb\t1"sv, 2, "t");
  p.parse("c\t\\N"sv, 2, "t");
  CHECK(p.values()[0].data == "c");
  CHECK(p.values()[1].kind == Kind::kNull);
}

TEST_CASE("CopyTextParser names the table when a row has another number of fields", "[copy]") {
  CopyTextParser p;
  CHECK_THROWS_WITH(
      p.parse("1\t2\t3\n"sv, 2, "snapshot of public.t"),
      Catch::Contains("snapshot of public.t: a COPY row has more than the 2 columns"));
  CHECK_THROWS_WITH(p.parse("1\n"sv, 2, "snapshot of public.t"),
                    Catch::Contains("snapshot of public.t: a COPY row has 1 columns, 2 expected"));
}

TEST_CASE("ctid_ordinal orders rows by block and offset, uniquely", "[copy]") {
  CHECK(ctid_ordinal("(0,1)", 8192) == 0);
  CHECK(ctid_ordinal("(0,291)", 8192) == 290);
  CHECK(ctid_ordinal("(1,1)", 8192) == 291);
  CHECK(ctid_ordinal("(4294967295,7)", 8192) == 4294967295ull * 291 + 6);
  CHECK(max_tuples_per_block(8192) == 291);
  CHECK(max_tuples_per_block(32768) == 1169);
  CHECK_THROWS_WITH(ctid_ordinal("(1,0)", 8192), Catch::Contains("malformed ctid \"(1,0)\""));
  CHECK_THROWS_WITH(ctid_ordinal("1,2", 8192), Catch::Contains("malformed ctid"));
  CHECK_THROWS_WITH(ctid_ordinal("(1,2", 8192), Catch::Contains("malformed ctid"));
}

}  // namespace
}  // namespace modsync::pgsource
