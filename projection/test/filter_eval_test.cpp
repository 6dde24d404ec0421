// Evaluation: SQL three-valued logic, every operator, binding, and rows from real events.

#include <catch2/catch.hpp>

#include <array>
#include <string>
#include <vector>

#include <simdjson.h>

#include "modsync/event/pg_types.hpp"
#include "modsync/projection/filter.hpp"
#include "modsync/projection/filter_error.hpp"

using modsync::projection::BoundFilter;
using modsync::projection::Filter;
using modsync::projection::FilterError;
using modsync::projection::Truth;
using modsync::projection::Value;

namespace {

/// Evaluates `where` over columns a, b, c bound to the given values.
Truth eval(std::string_view where, Value a, Value b = Value::null(), Value c = Value::null()) {
  const BoundFilter f = Filter::parse(where).bind({"a", "b", "c"});
  const std::array<Value, 3> row{a, b, c};
  return f.evaluate(row);
}

const Value kTrue = Value::of_bool(true);
const Value kFalse = Value::of_bool(false);
const Value kNull = Value::null();

}  // namespace

TEST_CASE("three-valued logic: AND, OR, NOT over TRUE, FALSE and NULL", "[filter][eval]") {
  // a and b are boolean columns; a NULL one is unknown.
  struct Row {
    Value a, b;
    Truth a_and_b, a_or_b, not_a;
  };
  const Truth T = Truth::kTrue, F = Truth::kFalse, U = Truth::kUnknown;
  const std::array<Row, 9> table{{
      {kTrue, kTrue, T, T, F},
      {kTrue, kFalse, F, T, F},
      {kTrue, kNull, U, T, F},
      {kFalse, kTrue, F, T, T},
      {kFalse, kFalse, F, F, T},
      {kFalse, kNull, F, U, T},
      {kNull, kTrue, U, T, U},
      {kNull, kFalse, F, U, U},
      {kNull, kNull, U, U, U},
  }};
  for (const Row& row : table) {
    CHECK(eval("a AND b", row.a, row.b) == row.a_and_b);
    CHECK(eval("a OR b", row.a, row.b) == row.a_or_b);
    CHECK(eval("NOT a", row.a) == row.not_a);
  }
}

TEST_CASE("a row matches only when the expression is TRUE", "[filter][eval]") {
  const BoundFilter f = Filter::parse("a > 0").bind({"a"});
  const std::array<Value, 1> positive{Value::of_int(1)}, negative{Value::of_int(-1)}, null{kNull};
  CHECK(f.matches(positive));
  CHECK_FALSE(f.matches(negative));
  CHECK_FALSE(f.matches(null));
  // Unknown stays unknown under NOT: neither a > 0 nor NOT a > 0 matches a NULL.
  CHECK(eval("NOT a > 0", kNull) == Truth::kUnknown);
  CHECK(eval("a > 0 OR a IS NULL", kNull) == Truth::kTrue);
}

TEST_CASE("comparisons with NULL, unavailable and incomparable values are unknown",
          "[filter][eval]") {
  for (const char* where : {"a = 1", "a <> 1", "a < 1", "a = b", "a = 'x'", "a = TRUE"}) {
    CAPTURE(where);
    CHECK(eval(where, kNull, Value::of_int(1)) == Truth::kUnknown);
    CHECK(eval(where, Value::unavailable(), Value::of_int(1)) == Truth::kUnknown);
    CHECK(eval(where, Value::other(), Value::of_int(1)) == Truth::kUnknown);
  }
  CHECK(eval("a = 1", kTrue) == Truth::kUnknown);                    // boolean with number
  CHECK(eval("a = 1", Value::of_string("one")) == Truth::kUnknown);  // not a number
  CHECK(eval("a <> 1", Value::of_string("one")) == Truth::kUnknown);
  CHECK(eval("a = 'x'", Value::of_int(1)) == Truth::kUnknown);
}

TEST_CASE("every comparison operator on numbers, strings and booleans", "[filter][eval]") {
  const Value two = Value::of_int(2);
  CHECK(eval("a = 2", two) == Truth::kTrue);
  CHECK(eval("a != 2", two) == Truth::kFalse);
  CHECK(eval("a <> 3", two) == Truth::kTrue);
  CHECK(eval("a < 3", two) == Truth::kTrue);
  CHECK(eval("a <= 2", two) == Truth::kTrue);
  CHECK(eval("a > 2", two) == Truth::kFalse);
  CHECK(eval("a >= 2.0", two) == Truth::kTrue);

  const Value paid = Value::of_string("paid");
  CHECK(eval("a = 'paid'", paid) == Truth::kTrue);
  CHECK(eval("a = 'Paid'", paid) == Truth::kFalse);  // bytewise, case-sensitive
  CHECK(eval("a < 'pay'", paid) == Truth::kTrue);
  CHECK(eval("a > 'paid '", paid) == Truth::kFalse);
  CHECK(eval("a > 'Z'", paid) == Truth::kTrue);                   // 'p' (0x70) > 'Z' (0x5A)
  CHECK(eval("a < 'é'", Value::of_string("z")) == Truth::kTrue);  // UTF-8 bytes > ASCII

  CHECK(eval("a = TRUE", kTrue) == Truth::kTrue);
  CHECK(eval("a = FALSE", kTrue) == Truth::kFalse);
  CHECK(eval("a > FALSE", kTrue) == Truth::kTrue);
  CHECK(eval("a", kTrue) == Truth::kTrue);
  CHECK(eval("a", kFalse) == Truth::kFalse);
  CHECK(eval("a", Value::of_int(1)) == Truth::kUnknown);  // a lone non-boolean is unknown

  CHECK(eval("a = b", Value::of_int(5), Value::of_decimal("5.000")) == Truth::kTrue);
  CHECK(eval("a < b", Value::of_string("abc"), Value::of_string("abd")) == Truth::kTrue);
  CHECK(eval("1 = 1", kNull) == Truth::kTrue);
  CHECK(eval("TRUE", kNull) == Truth::kTrue);
  CHECK(eval("NULL", kNull) == Truth::kUnknown);
}

TEST_CASE("decimal comparisons are exact", "[filter][eval]") {
  CHECK(eval("a = 12.5", Value::of_string("12.50")) == Truth::kTrue);
  CHECK(eval("a > 0", Value::of_string("12.50")) == Truth::kTrue);
  CHECK(eval("a < 0", Value::of_string("-0.01")) == Truth::kTrue);
  CHECK(eval("a = 0", Value::of_string("-0.00")) == Truth::kTrue);
  CHECK(eval("a > 9007199254740992", Value::of_int(9007199254740993)) == Truth::kTrue);
  CHECK(eval("a > b", Value::of_int(9007199254740993), Value::of_string("9007199254740992")) ==
        Truth::kTrue);
  CHECK(eval("a = 9007199254740993", Value::of_decimal("9007199254740992")) == Truth::kFalse);
  CHECK(eval("a = 18446744073709551615", Value::of_uint(18446744073709551615u)) == Truth::kTrue);
  CHECK(eval("a < -9223372036854775807", Value::of_int(INT64_MIN)) == Truth::kTrue);
  CHECK(eval("a = 0.1", Value::of_string("0.10000000000000000000000000001")) == Truth::kFalse);
  CHECK(eval("a > 0.1", Value::of_string("0.10000000000000000000000000001")) == Truth::kTrue);
  CHECK(eval("a < 100", Value::of_string("99.999999999999999999")) == Truth::kTrue);
  CHECK(eval("a > -100", Value::of_string("-99.9")) == Truth::kTrue);
  CHECK(eval("a < -99.8", Value::of_string("-99.9")) == Truth::kTrue);
  CHECK(eval("a = '12.5'", Value::of_decimal("12.50")) == Truth::kTrue);  // string literal
  // A float compares as the shortest decimal that reads back as it: what PostgreSQL prints.
  CHECK(eval("a = 0.1", Value::of_double(0.1)) == Truth::kTrue);
  CHECK(eval("a = 1e30", Value::of_double(1e30)) == Truth::kTrue);
  CHECK(eval("a > 9007199254740992", Value::of_double(9007199254740992.0)) == Truth::kFalse);
  CHECK(eval("a < 0.000001", Value::of_double(5e-324)) == Truth::kTrue);
  // Exponent forms in text go through double.
  CHECK(eval("a = 1000000", Value::of_string("1e6")) == Truth::kTrue);
  CHECK(eval("a > 1e300", Value::of_decimal("1e999")) == Truth::kTrue);
  // Not numbers.
  CHECK(eval("a > 0", Value::of_string("NaN")) == Truth::kUnknown);
  CHECK(eval("a > 0", Value::of_string("Infinity")) == Truth::kUnknown);
  CHECK(eval("a > 0", Value::of_string(" 1")) == Truth::kUnknown);
  CHECK(eval("a = 'NaN'", Value::of_string("NaN")) == Truth::kTrue);
}

TEST_CASE("IN and NOT IN", "[filter][eval]") {
  CHECK(eval("a IN ('paid', 'shipped')", Value::of_string("paid")) == Truth::kTrue);
  CHECK(eval("a IN ('paid', 'shipped')", Value::of_string("new")) == Truth::kFalse);
  CHECK(eval("a NOT IN ('paid', 'shipped')", Value::of_string("new")) == Truth::kTrue);
  CHECK(eval("a NOT IN ('paid', 'shipped')", Value::of_string("paid")) == Truth::kFalse);
  CHECK(eval("a IN (1, 2.5)", Value::of_string("2.50")) == Truth::kTrue);
  CHECK(eval("a IN (1, 2)", kNull) == Truth::kUnknown);
  CHECK(eval("a NOT IN (1, 2)", kNull) == Truth::kUnknown);
  // One element that cannot be compared makes a miss unknown, a hit still TRUE.
  CHECK(eval("a IN ('x', 1)", Value::of_string("x")) == Truth::kTrue);
  CHECK(eval("a IN ('x', 1)", Value::of_string("y")) == Truth::kUnknown);
  CHECK(eval("a IN (TRUE)", kTrue) == Truth::kTrue);
}

TEST_CASE("IS [NOT] NULL", "[filter][eval]") {
  CHECK(eval("a IS NULL", kNull) == Truth::kTrue);
  CHECK(eval("a IS NULL", Value::of_int(0)) == Truth::kFalse);
  CHECK(eval("a IS NULL", Value::of_string("")) == Truth::kFalse);
  CHECK(eval("a IS NULL", Value::other()) == Truth::kFalse);
  CHECK(eval("a IS NOT NULL", kNull) == Truth::kFalse);
  CHECK(eval("a IS NOT NULL", kFalse) == Truth::kTrue);
  // An unchanged TOASTed value is not known to be NULL or not.
  CHECK(eval("a IS NULL", Value::unavailable()) == Truth::kUnknown);
  CHECK(eval("a IS NOT NULL", Value::unavailable()) == Truth::kUnknown);
}

TEST_CASE("LIKE with %, _ and escapes", "[filter][eval]") {
  const auto like = [](std::string_view pattern, std::string_view text) {
    const std::string where = "a LIKE '" + std::string(pattern) + "'";
    return eval(where, Value::of_string(text)) == Truth::kTrue;
  };
  CHECK(like("AB-%", "AB-1"));
  CHECK(like("AB-%", "AB-"));
  CHECK_FALSE(like("AB-%", "ab-1"));  // case-sensitive
  CHECK(like("%1", "AB-1"));
  CHECK(like("%-%", "AB-1"));
  CHECK(like("A_-_", "AB-1"));
  CHECK_FALSE(like("A_-_", "AB-12"));
  CHECK(like("%", ""));
  CHECK(like("", ""));
  CHECK_FALSE(like("", "x"));
  CHECK_FALSE(like("_", ""));
  CHECK(like("%a%b%c%", "xxaxxbxxcxx"));
  CHECK_FALSE(like("%a%b%c%", "xxcxxbxxaxx"));
  CHECK(like("%%%x", "abcx"));
  CHECK(like("%ab", "aab"));
  CHECK(like("a%b%b", "abbb"));
  CHECK(like("100\\%", "100%"));
  CHECK_FALSE(like("100\\%", "1000"));
  CHECK(like("a\\_b", "a_b"));
  CHECK_FALSE(like("a\\_b", "axb"));
  CHECK(like("a\\\\b", "a\\b"));
  CHECK(like("caf_", "café"));  // _ is one character, not one byte
  CHECK_FALSE(like("caf__", "café"));
  CHECK(like("%é", "café"));
  CHECK(like("it''s%", "it's here"));
  CHECK(eval("a NOT LIKE 'x%'", Value::of_string("yes")) == Truth::kTrue);
  CHECK(eval("a NOT LIKE 'x%'", Value::of_string("xyz")) == Truth::kFalse);
  CHECK(eval("a LIKE 'x%'", kNull) == Truth::kUnknown);
  CHECK(eval("a NOT LIKE 'x%'", kNull) == Truth::kUnknown);
  CHECK(eval("a LIKE '1%'", Value::of_int(12)) == Truth::kUnknown);  // only strings
}

TEST_CASE("binding resolves names to row indexes", "[filter][bind]") {
  const Filter filter = Filter::parse("total > 0 AND status = 'paid' AND total < 100");
  const BoundFilter bound = filter.bind({"id", "status", "customer", "total"});
  CHECK(bound.row_indexes() == std::vector<std::size_t>{3, 1});
  std::array<Value, 4> row{Value::of_int(1), Value::of_string("paid"), Value::null(),
                           Value::of_decimal("12.50")};
  CHECK(bound.matches(row));
  row[1] = Value::of_string("new");
  CHECK_FALSE(bound.matches(row));
  // A short row reads the missing columns as unavailable.
  CHECK(bound.evaluate(std::span(row).first(2)) == Truth::kFalse);
  CHECK(bound.evaluate(std::span(row).first(3)) != Truth::kTrue);

  const BoundFilter all = Filter::match_all().bind({"id"});
  CHECK(all.matches({}));
  CHECK(all.row_indexes().empty());
}

TEST_CASE("binding an unknown column names the table's columns", "[filter][bind]") {
  const Filter filter = Filter::parse("status = 'paid' AND totl > 0");
  try {
    filter.bind({"id", "status", "total", "Order Date"});
    FAIL("bound");
  } catch (const FilterError& e) {
    CHECK(std::string(e.what()) ==
          "where: column 21: expected a column of the table (id, status, total, \"Order Date\"), "
          "found unknown column totl\n"
          "  status = 'paid' AND totl > 0\n"
          "                      ^");
  }
  try {
    Filter::parse("Status = 'paid'").bind({"id", "status"});
    FAIL("bound");
  } catch (const FilterError& e) {
    CHECK(e.reason() ==
          "expected a column of the table (id, status), found unknown column Status (names are "
          "case-sensitive: did you mean status?)");
  }
  CHECK_THROWS_WITH(Filter::parse("a = 1").bind({}),
                    Catch::StartsWith("where: column 1: expected a column of the table (it has "
                                      "none), found unknown column a\n"));
}

TEST_CASE("evaluating an event's after object parsed with simdjson", "[filter][eval][json]") {
  namespace pg = modsync::event::pg;
  // The example of docs/events.md, plus a NULL column.
  const std::string event = R"({"before":null,"after":{"id":42,"sku":"AB-1","qty":3,)"
                            R"("price":"9.90","tags":["sale","gift wrap"],"attrs":{"color":"red"},)"
                            R"("updated_at":"2024-01-02T05:04:05.5+02:00","paid":true,"note":null,)"
                            R"("big":9007199254740993,"ratio":0.25},"op":"u"})";
  simdjson::dom::parser parser;
  const simdjson::dom::element after = parser.parse(event)["after"];

  const std::vector<std::string> names{"id",         "sku",  "qty",  "price", "tags", "attrs",
                                       "updated_at", "paid", "note", "big",   "ratio"};
  const std::vector<uint32_t> types{pg::kInt8Oid,        pg::kTextOid,      pg::kInt4Oid,
                                    pg::kNumericOid,     pg::kTextArrayOid, pg::kJsonbOid,
                                    pg::kTimestampTzOid, pg::kBoolOid,      pg::kTextOid,
                                    pg::kInt8Oid,        pg::kFloat8Oid};
  std::vector<Value> row(names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    row[i] = Value::from_json(after[names[i]].value(), types[i]);
  }

  const auto matches = [&](std::string_view where) {
    return Filter::parse(where).bind(names).matches(row);
  };
  CHECK(matches("id = 42 AND sku LIKE 'AB-%' AND qty >= 3"));
  CHECK(matches("price > 9.8 AND price < 9.91 AND price = 9.9"));
  CHECK(matches("price > qty"));  // numeric string vs JSON number, column to column
  CHECK(matches("paid AND note IS NULL AND tags IS NOT NULL AND attrs IS NOT NULL"));
  CHECK(matches("updated_at >= '2024-01-02' AND updated_at < '2024-01-03'"));
  CHECK(matches("big > 9007199254740992 AND big = 9007199254740993"));
  CHECK(matches("ratio = 0.25 AND ratio < 1"));
  CHECK_FALSE(matches("tags = 'sale'"));
  CHECK_FALSE(matches("note = 'x' OR NOT note <> 'x'"));

  // Without type OIDs the numeric column is a string: still numeric against number literals.
  std::vector<Value> untyped(names.size());
  for (std::size_t i = 0; i < names.size(); ++i) untyped[i] = Value::from_json(after[names[i]]);
  CHECK(Filter::parse("price = 9.9").bind(names).matches(untyped));
}
