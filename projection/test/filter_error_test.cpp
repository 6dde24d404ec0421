// Malformed expressions fail at parse with the column, what was expected and what was found.

#include <catch2/catch.hpp>

#include <string>

#include "modsync/projection/filter.hpp"
#include "modsync/projection/filter_error.hpp"

using modsync::ErrorKind;
using modsync::projection::Filter;
using modsync::projection::FilterError;

namespace {

std::string parse_error(std::string_view text) {
  try {
    Filter::parse(text);
  } catch (const FilterError& e) {
    CHECK(e.kind() == ErrorKind::kFatal);
    return e.what();
  }
  FAIL("parsed without error: " << text);
  return {};
}

}  // namespace

TEST_CASE("missing operand", "[filter][errors]") {
  CHECK(parse_error("status = 'paid' AND total >") ==
        "where: column 28: expected a value after '>', found end of expression\n"
        "  status = 'paid' AND total >\n"
        "                             ^");
  CHECK(parse_error("a = AND b = 1") ==
        "where: column 5: expected a value after '=', found AND\n"
        "  a = AND b = 1\n"
        "      ^");
  CHECK(parse_error("a = 1 AND") ==
        "where: column 10: expected a condition after AND, found end of expression\n"
        "  a = 1 AND\n"
        "           ^");
  CHECK(parse_error("OR a = 1") ==
        "where: column 1: expected a condition, found OR\n"
        "  OR a = 1\n"
        "  ^");
}

TEST_CASE("unbalanced parentheses", "[filter][errors]") {
  CHECK(parse_error("(a = 1 OR b = 2") ==
        "where: column 16: expected ')' to close the '(' at column 1, found end of expression\n"
        "  (a = 1 OR b = 2\n"
        "                 ^");
  CHECK(parse_error("a = 1)") ==
        "where: column 6: expected AND, OR or end of expression, found ')'\n"
        "  a = 1)\n"
        "       ^");
  CHECK(parse_error("(a = 1 b = 2)") ==
        "where: column 8: expected AND, OR or ')', found b\n"
        "  (a = 1 b = 2)\n"
        "         ^");
  CHECK(parse_error("()") ==
        "where: column 2: expected a condition after '(', found ')'\n"
        "  ()\n"
        "   ^");
}

TEST_CASE("unknown operators", "[filter][errors]") {
  CHECK(parse_error("a == 1") ==
        "where: column 3: expected one of = != <> < <= > >=, found '==' (write =)\n"
        "  a == 1\n"
        "    ^");
  CHECK(parse_error("a = 1 && b = 2") ==
        "where: column 7: expected AND, OR or end of expression, found '&&' (write AND)\n"
        "  a = 1 && b = 2\n"
        "        ^");
  CHECK(parse_error("a =< 1") ==
        "where: column 3: expected one of = != <> < <= > >=, found '=<'\n"
        "  a =< 1\n"
        "    ^");
  CHECK(parse_error("a = ?") ==
        "where: column 5: expected a value after '=', found unexpected character '?'\n"
        "  a = ?\n"
        "      ^");
  CHECK(parse_error("a NOT = 1") ==
        "where: column 7: expected IN or LIKE after NOT, found '='\n"
        "  a NOT = 1\n"
        "        ^");
}

TEST_CASE("unterminated strings and quoted names", "[filter][errors]") {
  CHECK(parse_error("name = 'O''Brien") ==
        "where: column 8: expected ' to close the string that starts here, found end of "
        "expression\n"
        "  name = 'O''Brien\n"
        "         ^");
  CHECK(parse_error("\"Order Id = 1") ==
        "where: column 1: expected \" to close the column name that starts here, found end of "
        "expression\n"
        "  \"Order Id = 1\n"
        "  ^");
  CHECK(parse_error("\"\" = 1") ==
        "where: column 1: expected a column name between the double quotes, found \"\"\n"
        "  \"\" = 1\n"
        "  ^");
}

TEST_CASE("trailing tokens", "[filter][errors]") {
  CHECK(parse_error("a = 1 b") ==
        "where: column 7: expected AND, OR or end of expression, found b\n"
        "  a = 1 b\n"
        "        ^");
  CHECK(parse_error("a = 1 = 2") ==
        "where: column 7: expected AND, OR or end of expression, found '='\n"
        "  a = 1 = 2\n"
        "        ^");
}

TEST_CASE("IN lists", "[filter][errors]") {
  CHECK(parse_error("a IN ()") ==
        "where: column 7: expected at least one value in the IN list, found ')'\n"
        "  a IN ()\n"
        "        ^");
  CHECK(parse_error("a IN 1, 2") ==
        "where: column 6: expected '(' after IN, found 1\n"
        "  a IN 1, 2\n"
        "       ^");
  CHECK(parse_error("a NOT IN (1 2)") ==
        "where: column 13: expected ',' or ')' in the IN list, found 2\n"
        "  a NOT IN (1 2)\n"
        "              ^");
  CHECK(parse_error("a IN (1,)") ==
        "where: column 9: expected a value in the IN list, found ')'\n"
        "  a IN (1,)\n"
        "          ^");
  CHECK(parse_error("a IN (1, b)") ==
        "where: column 10: expected a literal value in the IN list, found column b (columns are "
        "not allowed in IN lists)\n"
        "  a IN (1, b)\n"
        "           ^");
  CHECK(parse_error("a IN (NULL, 1)") ==
        "where: column 7: expected a value other than NULL in the IN list, found NULL (NULL "
        "equals nothing: test it with IS NULL)\n"
        "  a IN (NULL, 1)\n"
        "        ^");
}

TEST_CASE("IS, LIKE and comparisons with NULL", "[filter][errors]") {
  CHECK(parse_error("a IS 1") ==
        "where: column 6: expected NULL or NOT NULL after IS, found 1\n"
        "  a IS 1\n"
        "       ^");
  CHECK(parse_error("a IS NOT TRUE") ==
        "where: column 10: expected NULL after IS NOT, found TRUE\n"
        "  a IS NOT TRUE\n"
        "           ^");
  CHECK(parse_error("a LIKE b") ==
        "where: column 8: expected a quoted pattern after LIKE, found b\n"
        "  a LIKE b\n"
        "         ^");
  CHECK(parse_error("a LIKE 'x\\'") ==
        "where: column 11: expected a character after the escape '\\' at the end of the LIKE "
        "pattern, found end of pattern (write \\\\ for a backslash)\n"
        "  a LIKE 'x\\'\n"
        "            ^");
  CHECK(parse_error("a = NULL") ==
        "where: column 5: expected a value after '=', found NULL (a comparison with NULL is never "
        "true: write IS NULL or IS NOT NULL)\n"
        "  a = NULL\n"
        "      ^");
  CHECK(parse_error("'paid'") ==
        "where: column 7: expected a comparison, IN, IS or LIKE after 'paid', found end of "
        "expression\n"
        "  'paid'\n"
        "        ^");
}

TEST_CASE("malformed numbers", "[filter][errors]") {
  CHECK(parse_error("a = 1.2.3") ==
        "where: column 5: expected a value after '=', found malformed number 1.2.3\n"
        "  a = 1.2.3\n"
        "      ^");
  CHECK(parse_error("a = 12abc") ==
        "where: column 5: expected a value after '=', found malformed number 12abc\n"
        "  a = 12abc\n"
        "      ^");
  CHECK(parse_error("a = 1e5000") ==
        "where: column 5: expected a number with an exponent between -1000 and 1000, found "
        "1e5000\n"
        "  a = 1e5000\n"
        "      ^");
}

TEST_CASE("columns count characters, and the excerpt stays on one line", "[filter][errors]") {
  // "é" is two bytes but one column; the newline is shown as a space.
  CHECK(parse_error("name = 'é'\nAND =") ==
        "where: column 16: expected a condition after AND, found '='\n"
        "  name = 'é' AND =\n"
        "                 ^");
  const std::string long_text =
      "a = 1 AND b = 2 AND c = 3 AND d = 4 AND e = 5 AND f = 6 AND g = "
      "7 AND h = 8 AND i = 9 AND j = 10 AND k == 11";
  CHECK(parse_error(long_text) ==
        "where: column 104: expected one of = != <> < <= > >=, found '==' (write =)\n"
        "  ... 7 AND h = 8 AND i = 9 AND j = 10 AND k == 11\n"
        "                                             ^");
}

TEST_CASE("nesting is limited", "[filter][errors]") {
  const std::string deep = std::string(101, '(') + "a" + std::string(101, ')');
  CHECK_THAT(parse_error(deep), Catch::StartsWith("where: column 101: expected at most 100 nested "
                                                  "parentheses and NOTs, found more\n"));
  CHECK_NOTHROW(Filter::parse(std::string(100, '(') + "a" + std::string(100, ')')));
}

TEST_CASE("FilterError gives the column and the reason apart", "[filter][errors]") {
  try {
    Filter::parse("a = 1 b");
    FAIL("no error");
  } catch (const FilterError& e) {
    CHECK(e.column() == 7);
    CHECK(e.reason() == "expected AND, OR or end of expression, found b");
  }
}
