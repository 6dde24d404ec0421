// Filling Values from the two shapes the sink has: PostgreSQL text and JSON; compare_values.

#include <catch2/catch.hpp>

#include <compare>
#include <string>

#include <simdjson.h>

#include "modsync/event/pg_types.hpp"
#include "modsync/projection/value.hpp"

namespace pg = modsync::event::pg;
using modsync::event::ColumnValue;
using modsync::projection::compare_values;
using modsync::projection::Value;
using Kind = Value::Kind;

TEST_CASE("from_pg_text maps PostgreSQL text by type", "[value]") {
  CHECK(Value::from_pg_text(pg::kBoolOid, "t").kind == Kind::kBool);
  CHECK(Value::from_pg_text(pg::kBoolOid, "t").boolean);
  CHECK_FALSE(Value::from_pg_text(pg::kBoolOid, "f").boolean);
  for (uint32_t oid : {pg::kInt2Oid, pg::kInt4Oid, pg::kInt8Oid, pg::kNumericOid, pg::kFloat8Oid}) {
    const Value v = Value::from_pg_text(oid, "-12.50");
    CHECK(v.kind == Kind::kNumber);
    CHECK(v.text == "-12.50");
  }
  CHECK(Value::from_pg_text(pg::kFloat8Oid, "1e+30").kind == Kind::kNumber);
  CHECK(Value::from_pg_text(pg::kNumericOid, "NaN").kind == Kind::kString);
  CHECK(Value::from_pg_text(pg::kFloat4Oid, "-Infinity").kind == Kind::kString);
  CHECK(Value::from_pg_text(pg::kTextOid, "12").kind == Kind::kString);
  CHECK(Value::from_pg_text(pg::kJsonbOid, "{}").kind == Kind::kOther);
  CHECK(Value::from_pg_text(pg::kInt4ArrayOid, "{1,2}").kind == Kind::kOther);
  CHECK(Value::from_pg_text(pg::kUuidOid, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11").kind ==
        Kind::kString);
}

TEST_CASE("from_column handles NULL, unchanged TOAST and binary values", "[value]") {
  CHECK(Value::from_column({ColumnValue::Kind::kNull, {}}, pg::kTextOid).kind == Kind::kNull);
  CHECK(Value::from_column({ColumnValue::Kind::kUnchanged, {}}, pg::kTextOid).kind ==
        Kind::kUnavailable);
  CHECK(Value::from_column({ColumnValue::Kind::kText, "7"}, pg::kInt4Oid).kind == Kind::kNumber);
  CHECK(Value::from_column({ColumnValue::Kind::kBinary, "\x01"}, pg::kInt4Oid).kind ==
        Kind::kOther);
}

TEST_CASE("from_json maps each JSON type", "[value]") {
  simdjson::dom::parser parser;
  const simdjson::dom::element doc = parser.parse(std::string(
      R"({"n":null,"t":true,"i":-7,"u":18446744073709551615,"d":1.5,"s":"x","a":[1],"o":{},"p":"12.50","q":"NaN"})"));
  CHECK(Value::from_json(doc["n"]).kind == Kind::kNull);
  CHECK(Value::from_json(doc["t"]).boolean);
  CHECK(Value::from_json(doc["i"]).number_form == Value::NumberForm::kInt64);
  CHECK(Value::from_json(doc["u"]).number_form == Value::NumberForm::kUint64);
  CHECK(Value::from_json(doc["d"]).number_form == Value::NumberForm::kDouble);
  CHECK(Value::from_json(doc["s"]).text == "x");
  CHECK(Value::from_json(doc["a"]).kind == Kind::kOther);
  CHECK(Value::from_json(doc["o"]).kind == Kind::kOther);
  CHECK(Value::from_json(doc["p"]).kind == Kind::kString);
  CHECK(Value::from_json(doc["p"], pg::kNumericOid).kind == Kind::kNumber);
  CHECK(Value::from_json(doc["q"], pg::kNumericOid).kind == Kind::kString);
  CHECK(Value::from_json(doc["p"], pg::kTextOid).kind == Kind::kString);
}

TEST_CASE("compare_values orders numbers exactly across forms", "[value]") {
  using std::partial_ordering;
  CHECK(compare_values(Value::of_decimal("12.50"), Value::of_double(12.5)) ==
        partial_ordering::equivalent);
  CHECK(compare_values(Value::of_string("-0.01"), Value::of_int(0)) == partial_ordering::less);
  CHECK(compare_values(Value::of_int(9007199254740993), Value::of_string("9007199254740992")) ==
        partial_ordering::greater);
  CHECK(compare_values(Value::of_uint(9007199254740993u), Value::of_double(9007199254740992.0)) ==
        partial_ordering::greater);
  CHECK(compare_values(Value::of_double(-1.0 / 0.0), Value::of_decimal("-1e300")) ==
        partial_ordering::less);
  CHECK(compare_values(Value::of_double(0.0 / 0.0), Value::of_int(1)) ==
        partial_ordering::unordered);
  CHECK(compare_values(Value::of_decimal("1e-999"), Value::of_int(0)) ==
        partial_ordering::equivalent);  // through double: underflows to 0
  CHECK(compare_values(Value::of_decimal("-1e999"), Value::of_decimal("-1e300")) ==
        partial_ordering::less);
  // Two strings compare as strings, even when both hold numbers.
  CHECK(compare_values(Value::of_string("9.5"), Value::of_string("10")) ==
        partial_ordering::greater);
  CHECK(compare_values(Value::of_decimal("9.5"), Value::of_string("10")) == partial_ordering::less);
  CHECK(compare_values(Value::of_bool(false), Value::of_bool(true)) == partial_ordering::less);
  CHECK(compare_values(Value::null(), Value::null()) == partial_ordering::unordered);
}
