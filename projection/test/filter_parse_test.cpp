// How expressions are understood: Filter::describe() shows the parse fully parenthesized.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "modsync/projection/filter.hpp"

using modsync::projection::Filter;

namespace {

std::string parsed(std::string_view text) {
  return Filter::parse(text).describe();
}

}  // namespace

TEST_CASE("NOT binds tighter than AND, AND tighter than OR", "[filter][parse]") {
  CHECK(parsed("a = 1 OR b = 2 AND NOT c = 3") == "((a = 1) OR ((b = 2) AND (NOT (c = 3))))");
  CHECK(parsed("NOT a = 1 AND b = 2") == "((NOT (a = 1)) AND (b = 2))");
  CHECK(parsed("a = 1 AND b = 2 OR c = 3 AND d = 4") ==
        "(((a = 1) AND (b = 2)) OR ((c = 3) AND (d = 4)))");
  CHECK(parsed("a = 1 OR b = 2 OR c = 3") == "((a = 1) OR (b = 2) OR (c = 3))");
  CHECK(parsed("NOT NOT a") == "(NOT (NOT a))");
}

TEST_CASE("parentheses override precedence", "[filter][parse]") {
  CHECK(parsed("(a = 1 OR b = 2) AND c = 3") == "(((a = 1) OR (b = 2)) AND (c = 3))");
  CHECK(parsed("NOT (a = 1 OR b = 2)") == "(NOT ((a = 1) OR (b = 2)))");
  CHECK(parsed("((a = 1))") == "(a = 1)");
}

TEST_CASE("every comparison operator", "[filter][parse]") {
  CHECK(parsed("a = 1") == "(a = 1)");
  CHECK(parsed("a != 1") == "(a <> 1)");
  CHECK(parsed("a <> 1") == "(a <> 1)");
  CHECK(parsed("a < 1") == "(a < 1)");
  CHECK(parsed("a <= 1") == "(a <= 1)");
  CHECK(parsed("a > 1") == "(a > 1)");
  CHECK(parsed("a >= 1") == "(a >= 1)");
  CHECK(parsed("a>=-1") == "(a >= -1)");
  CHECK(parsed("a = b") == "(a = b)");
  CHECK(parsed("1 < a") == "(1 < a)");
}

TEST_CASE("IN lists, IS [NOT] NULL, [NOT] LIKE", "[filter][parse]") {
  CHECK(parsed("status IN ('paid', 'shipped')") == "(status IN ('paid', 'shipped'))");
  CHECK(parsed("id NOT IN (1, 2.50, -3)") == "(id NOT IN (1, 2.5, -3))");
  CHECK(parsed("flag IN (TRUE)") == "(flag IN (TRUE))");
  CHECK(parsed("x IS NULL") == "(x IS NULL)");
  CHECK(parsed("x IS NOT NULL") == "(x IS NOT NULL)");
  CHECK(parsed("sku LIKE 'AB-%'") == "(sku LIKE 'AB-%')");
  CHECK(parsed("sku NOT LIKE '_\\_x'") == "(sku NOT LIKE '_\\_x')");
  CHECK(parsed("NOT x IS NULL") == "(NOT (x IS NULL))");
}

TEST_CASE("keywords are case-insensitive", "[filter][parse]") {
  CHECK(parsed("a = 1 and not b is null Or c iN (1) AND d not like 'x' aNd e = true") ==
        "(((a = 1) AND (NOT (b IS NULL))) OR ((c IN (1)) AND (d NOT LIKE 'x') AND (e = TRUE)))");
  CHECK(parsed("a = 1 and b = 2 or c = False") == "(((a = 1) AND (b = 2)) OR (c = FALSE))");
  CHECK(parsed("x Is Not Null") == "(x IS NOT NULL)");
}

TEST_CASE("quoted identifiers name any column and bare ones are taken exactly", "[filter][parse]") {
  // "select" needs no quotes (it is no keyword here); describe() quotes only where needed.
  const Filter f =
      Filter::parse(R"("Order Id" = 1 AND "select" = 'x' AND "a""b" = 2 AND Total > 0)");
  CHECK(f.columns() == std::vector<std::string>{"Order Id", "select", "a\"b", "Total"});
  CHECK(f.describe() ==
        R"((("Order Id" = 1) AND (select = 'x') AND ("a""b" = 2) AND (Total > 0)))");
  // A quoted keyword is a column, not the keyword.
  CHECK(parsed(R"("null" IS NULL)") == R"(("null" IS NULL))");
  CHECK(parsed(R"("and" = 1)") == R"(("and" = 1))");
}

TEST_CASE("literals: strings with '' escapes, numbers in plain decimal, booleans",
          "[filter][parse]") {
  CHECK(parsed("name = 'O''Brien'") == "(name = 'O''Brien')");
  CHECK(parsed("name = ''") == "(name = '')");
  CHECK(parsed("name = 'a\\b'") == "(name = 'a\\b')");  // backslash is an ordinary character
  CHECK(parsed("x = 007") == "(x = 7)");
  CHECK(parsed("x = +1.500") == "(x = 1.5)");
  CHECK(parsed("x = -0.0") == "(x = 0)");
  CHECK(parsed("x = .5") == "(x = 0.5)");
  CHECK(parsed("x = 5.") == "(x = 5)");
  CHECK(parsed("x = 1.5e3") == "(x = 1500)");
  CHECK(parsed("x = 1E+2") == "(x = 100)");
  CHECK(parsed("x = -25e-3") == "(x = -0.025)");
  CHECK(parsed("x = 0.00012e2") == "(x = 0.012)");
  CHECK(parsed("x = 9007199254740993") == "(x = 9007199254740993)");
  CHECK(parsed("paid") == "paid");
  CHECK(parsed("TRUE") == "TRUE");
  CHECK(parsed("paid = false") == "(paid = FALSE)");
}

TEST_CASE("columns() lists each column once, in order of first use", "[filter][parse]") {
  const Filter f = Filter::parse("b = 1 OR (a = 2 AND b IN (3)) OR c IS NULL OR a LIKE 'x'");
  CHECK(f.columns() == std::vector<std::string>{"b", "a", "c"});
  CHECK(Filter::parse("1 = 1").columns().empty());
}

TEST_CASE("an empty or blank where matches everything", "[filter][parse]") {
  CHECK(Filter::parse("").is_match_all());
  CHECK(Filter::parse("  \n\t").is_match_all());
  CHECK(Filter::match_all().is_match_all());
  CHECK(Filter::match_all().columns().empty());
  CHECK(Filter::match_all().describe() == "TRUE");
  CHECK_FALSE(Filter::parse("a").is_match_all());
  CHECK(Filter::parse("a = 1").text() == "a = 1");
}

TEST_CASE("whitespace, newlines and tabs separate tokens anywhere", "[filter][parse]") {
  CHECK(parsed("a = 1\n  AND\tb = 2") == "((a = 1) AND (b = 2))");
  CHECK(parsed("(a=1)AND(b<>'x')") == "((a = 1) AND (b <> 'x'))");
}
