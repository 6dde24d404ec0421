// Debezium value mode and the schema_payload envelope: each value form against Debezium's
// documented encoding, the way back to PostgreSQL text, and the Connect schema of each field.

#include <simdjson.h>
#include <catch2/catch.hpp>

#include <array>
#include <string>

#include "modsync/event/debezium.hpp"
#include "modsync/event/envelope.hpp"
#include "modsync/event/pg_types.hpp"

namespace pg = modsync::event::pg;
namespace dbz = modsync::event::debezium;
using modsync::Lsn;
using modsync::Position;
using modsync::event::Column;
using modsync::event::ColumnValue;
using modsync::event::EncoderOptions;
using modsync::event::EnvelopeEncoder;
using modsync::event::EnvelopeForm;
using modsync::event::Op;
using modsync::event::SourceInfo;
using modsync::event::TableSchema;
using modsync::event::ValueMode;

namespace {

// numeric(p,s)'s type modifier.
int32_t numeric_mod(int32_t precision, int32_t scale) {
  return ((precision << 16) | (scale & 0x7FF)) + 4;
}

std::string encode(uint32_t oid, int32_t mod, std::string_view text) {
  std::string out;
  dbz::append_debezium_value(Column{"c", oid, mod, false, ""}, text, out);
  return out;
}

std::string date_back(int64_t days) {
  std::string out;
  REQUIRE(dbz::append_date_input(days, out));
  return out;
}

std::string timestamp_back(int64_t v, int64_t units) {
  std::string out;
  REQUIRE(dbz::append_timestamp_input(v, units, out));
  return out;
}

std::string decimal_back(std::string_view json_string, int32_t scale) {
  std::string out;
  REQUIRE(json_string.size() >= 2);
  REQUIRE(dbz::append_decimal_input(json_string.substr(1, json_string.size() - 2), scale, out));
  return out;
}

}  // namespace

TEST_CASE("dates are epoch days, and read back in PostgreSQL's era form", "[unit][debezium]") {
  CHECK(encode(pg::kDateOid, -1, "1970-01-01") == "0");
  CHECK(encode(pg::kDateOid, -1, "2024-01-02") == "19724");
  CHECK(encode(pg::kDateOid, -1, "1969-12-31") == "-1");
  // 1 BC is astronomical year 0, a leap year.
  CHECK(encode(pg::kDateOid, -1, "0001-12-31 BC") == "-719163");
  CHECK(encode(pg::kDateOid, -1, "4714-11-24 BC") == "-2440588");
  CHECK(encode(pg::kDateOid, -1, "4713-01-01 BC") == "-2440550");
  CHECK(encode(pg::kDateOid, -1, "infinity") == "\"infinity\"");
  for (std::string_view d : {"1970-01-01", "2024-02-29", "0001-01-01", "0001-12-31 BC",
                             "4714-11-24 BC", "4713-01-01 BC", "5874897-12-31", "1582-10-04"}) {
    INFO(d);
    CHECK(date_back(std::stoll(encode(pg::kDateOid, -1, d))) == d);
  }
  std::string out;
  CHECK_FALSE(dbz::append_date_input(int64_t{1} << 40, out));
  CHECK(out.empty());
}

TEST_CASE("timestamps are epoch micro- or milliseconds by precision", "[unit][debezium]") {
  CHECK(encode(pg::kTimestampOid, -1, "2024-01-02 03:04:05.123456") == "1704164645123456");
  CHECK(encode(pg::kTimestampOid, 6, "2024-01-02 03:04:05.5") == "1704164645500000");
  CHECK(encode(pg::kTimestampOid, 3, "2024-01-02 03:04:05.123") == "1704164645123");
  CHECK(encode(pg::kTimestampOid, 0, "1969-12-31 23:59:59") == "-1000");
  CHECK(encode(pg::kTimestampOid, -1, "1969-12-31 23:59:59.999999") == "-1");
  CHECK(encode(pg::kTimestampOid, -1, "-infinity") == "\"-infinity\"");
  for (std::string_view t :
       {"2024-01-02 03:04:05.123456", "1969-12-31 23:59:59.999999", "4713-01-01 00:00:00 BC",
        "0001-01-01 00:00:00.5 BC", "294247-01-10 04:00:54.775807"}) {
    INFO(t);
    CHECK(timestamp_back(std::stoll(encode(pg::kTimestampOid, -1, t)), 1000000) == t);
  }
  CHECK(timestamp_back(-1000, 1000) == "1969-12-31 23:59:59");
  // Beyond int64 epoch microseconds: kept as text, which the apply side reads as it is.
  CHECK(encode(pg::kTimestampOid, -1, "294276-12-31 23:59:59.999999") ==
        "\"294276-12-31T23:59:59.999999\"");
  // timestamptz stays an ISO string: Debezium's io.debezium.time.ZonedTimestamp.
  CHECK(encode(pg::kTimestampTzOid, -1, "2024-01-02 03:04:05+00") == "\"2024-01-02T03:04:05Z\"");
}

TEST_CASE("time is micro- or milliseconds past midnight", "[unit][debezium]") {
  CHECK(encode(pg::kTimeOid, -1, "00:00:01.000001") == "1000001");
  CHECK(encode(pg::kTimeOid, -1, "24:00:00") == "86400000000");
  CHECK(encode(pg::kTimeOid, 3, "12:00:00.25") == "43200250");
  std::string out;
  REQUIRE(dbz::append_time_input(86400000000, 1000000, out));
  CHECK(out == "24:00:00");
  out.clear();
  REQUIRE(dbz::append_time_input(43200250, 1000, out));
  CHECK(out == "12:00:00.25");
  out.clear();
  CHECK_FALSE(dbz::append_time_input(86400000001, 1000000, out));
}

TEST_CASE("numeric is Connect's Decimal: base64 of the unscaled two's complement",
          "[unit][debezium]") {
  // As Java's BigInteger.toByteArray: 1250 = 0x04E2, -100 = 0x9C, 128 = 0x0080, -128 = 0x80.
  CHECK(encode(pg::kNumericOid, numeric_mod(10, 2), "12.50") == "\"BOI=\"");
  CHECK(encode(pg::kNumericOid, numeric_mod(10, 2), "-1.00") == "\"nA==\"");
  CHECK(encode(pg::kNumericOid, numeric_mod(10, 2), "0.00") == "\"AA==\"");
  CHECK(encode(pg::kNumericOid, numeric_mod(5, 0), "128") == "\"AIA=\"");
  CHECK(encode(pg::kNumericOid, numeric_mod(5, 0), "-128") == "\"gA==\"");
  CHECK(encode(pg::kNumericOid, numeric_mod(5, 0), "-129") == "\"/38=\"");
  // A negative scale: 12300 with scale -2 is unscaled 123.
  CHECK(encode(pg::kNumericOid, numeric_mod(5, -2), "12300") == "\"ew==\"");
  CHECK(decimal_back("\"ew==\"", -2) == "12300");
  // Unconstrained numeric is io.debezium.data.VariableScaleDecimal.
  CHECK(encode(pg::kNumericOid, -1, "-0.001") == R"({"scale":3,"value":"/w=="})");
  CHECK(encode(pg::kNumericOid, -1, "NaN") == "\"NaN\"");
  CHECK(encode(pg::kNumericOid, -1, "Infinity") == "\"Infinity\"");
  for (std::string_view n : {"12.50", "-1.00", "0.00", "-0.05", "99999999.99", "-32768.00"}) {
    INFO(n);
    CHECK(decimal_back(encode(pg::kNumericOid, numeric_mod(10, 2), n), 2) == n);
  }
  const std::string big = "-12345678901234567890123456789012345678.123456789";
  simdjson::dom::parser parser;
  const std::string json = encode(pg::kNumericOid, -1, big);
  const auto doc = parser.parse(json).value();
  CHECK(int64_t(doc["scale"]) == 9);
  std::string back;
  REQUIRE(dbz::append_decimal_input(std::string_view(doc["value"]), 9, back));
  CHECK(back == big);
  // numeric's largest values, both ways (quadratic digit-at-a-time conversion took seconds).
  for (const std::string& n : {std::string(131072, '9') + "." + std::string(16383, '9'),
                               "-1" + std::string(100000, '0') + ".5"}) {
    const std::string j = encode(pg::kNumericOid, -1, n);
    const auto d = parser.parse(j).value();
    back.clear();
    REQUIRE(dbz::append_decimal_input(std::string_view(d["value"]), int32_t(int64_t(d["scale"])),
                                      back));
    CHECK(back == n);
  }
}

TEST_CASE("other types keep modsync's form in Debezium value mode", "[unit][debezium]") {
  CHECK(encode(pg::kByteaOid, -1, "\\x00ff") == "\"AP8=\"");
  CHECK(encode(pg::kJsonbOid, -1, "{\"a\": 1}") == "\"{\\\"a\\\": 1}\"");
  CHECK(encode(pg::kInt8Oid, -1, "-9223372036854775808") == "-9223372036854775808");
  CHECK(encode(pg::kDateArrayOid, -1, "{2024-01-02}") == "[\"2024-01-02\"]");
}

namespace {

TableSchema items() {
  TableSchema t;
  t.module = "shop";
  t.database = "db";
  t.schema = "public";
  t.table = "items";
  t.columns = {{"id", pg::kInt8Oid, -1, true, "bigint"},
               {"price", pg::kNumericOid, numeric_mod(10, 2), false, "numeric(10,2)"},
               {"qty", pg::kNumericOid, -1, false, "numeric"},
               {"day", pg::kDateOid, -1, false, "date"},
               {"at", pg::kTimestampOid, 3, false, "timestamp(3) without time zone"},
               {"doc", pg::kJsonbOid, -1, false, "jsonb"},
               {"tags", pg::kTextArrayOid, -1, false, "text[]"},
               {"ok", pg::kBoolOid, -1, false, "boolean"}};
  t.version = 2;
  t.topic = "modsync.shop.public.items";
  return t;
}

SourceInfo source() {
  SourceInfo s;
  s.position = Position{Lsn{0x1000}, 1};
  s.xid = 9;
  s.commit_time_ms = 1'704'164'645'123;
  return s;
}

std::string str(simdjson::dom::element e) {
  return std::string(std::string_view(e));
}

simdjson::dom::element field_schema(simdjson::dom::element row_struct, std::string_view name) {
  for (auto f : simdjson::dom::array(row_struct["fields"])) {
    if (std::string_view(f["field"]) == name) return f;
  }
  FAIL("no field " << name);
  return {};
}

}  // namespace

TEST_CASE("schema_payload wraps key and value with their Connect schemas", "[unit][debezium]") {
  const TableSchema t = items();
  const std::array row{ColumnValue{ColumnValue::Kind::kText, "7"},
                       ColumnValue{ColumnValue::Kind::kText, "12.50"},
                       ColumnValue{ColumnValue::Kind::kText, "3.5"},
                       ColumnValue{ColumnValue::Kind::kText, "2024-01-02"},
                       ColumnValue{ColumnValue::Kind::kText, "2024-01-02 03:04:05.123"},
                       ColumnValue{ColumnValue::Kind::kText, "{}"},
                       ColumnValue{ColumnValue::Kind::kText, "{a,b}"},
                       ColumnValue{ColumnValue::Kind::kNull, {}}};
  simdjson::dom::parser p1, p2;

  SECTION("modsync values") {
    const EnvelopeEncoder enc({EnvelopeForm::kSchemaPayload, ValueMode::kModsync});
    std::string key, value;
    REQUIRE(enc.encode_key(t, row, key));
    enc.encode_change(t, Op::kCreate, {}, row, source(), 5, value);
    const auto k = p1.parse(key).value();
    CHECK(str(k["schema"]["name"]) == "modsync.shop.public.items.Key");
    CHECK(str(k["schema"]["type"]) == "struct");
    CHECK(bool(k["schema"]["optional"]) == false);
    CHECK(str(field_schema(k["schema"], "id")["type"]) == "int64");
    CHECK(int64_t(k["payload"]["id"]) == 7);
    const auto v = p2.parse(value).value();
    CHECK(str(v["schema"]["name"]) == "modsync.shop.public.items.Envelope");
    const auto after = field_schema(v["schema"], "after");
    CHECK(str(after["name"]) == "modsync.shop.public.items.Value");
    CHECK(bool(after["optional"]));
    CHECK(str(field_schema(v["schema"], "source")["name"]) == dbz::kSourceSchema);
    CHECK(str(field_schema(after, "price")["type"]) == "string");
    CHECK(field_schema(after, "price")["name"].error() == simdjson::NO_SUCH_FIELD);
    CHECK(str(field_schema(after, "doc")["name"]) == dbz::kJson);
    CHECK(str(field_schema(after, "tags")["type"]) == "array");
    CHECK(str(field_schema(after, "tags")["items"]["type"]) == "string");
    CHECK(str(field_schema(after, "ok")["type"]) == "boolean");
    CHECK(bool(field_schema(after, "id")["optional"]) == false);
    CHECK(str(v["payload"]["after"]["price"]) == "12.50");
    CHECK(str(v["payload"]["op"]) == "c");
    CHECK(v["payload"]["source"]["value_mode"].error() == simdjson::NO_SUCH_FIELD);
  }

  SECTION("Debezium values") {
    const EnvelopeEncoder enc({EnvelopeForm::kSchemaPayload, ValueMode::kDebezium});
    std::string value;
    enc.encode_change(t, Op::kUpdate, row, row, source(), 5, value);
    const auto v = p2.parse(value).value();
    const auto after = field_schema(v["schema"], "after");
    const auto price = field_schema(after, "price");
    CHECK(str(price["type"]) == "bytes");
    CHECK(str(price["name"]) == dbz::kDecimal);
    CHECK(str(price["parameters"]["scale"]) == "2");
    CHECK(str(price["parameters"]["connect.decimal.precision"]) == "10");
    CHECK(str(field_schema(after, "qty")["name"]) == dbz::kVariableScaleDecimal);
    CHECK(str(field_schema(after, "day")["name"]) == dbz::kDate);
    CHECK(str(field_schema(after, "day")["type"]) == "int32");
    CHECK(str(field_schema(after, "at")["name"]) == dbz::kTimestamp);
    CHECK(str(field_schema(after, "at")["type"]) == "int64");
    CHECK(str(v["payload"]["after"]["price"]) == "BOI=");
    CHECK(int64_t(v["payload"]["after"]["day"]) == 19724);
    CHECK(int64_t(v["payload"]["after"]["at"]) == 1704164645123);
    CHECK(int64_t(v["payload"]["before"]["qty"]["scale"]) == 1);
    CHECK(str(v["payload"]["source"]["value_mode"]) == "debezium");
  }

  SECTION("plain Debezium values, and a schema rebuilt for a new version") {
    const EnvelopeEncoder enc({EnvelopeForm::kPlain, ValueMode::kDebezium});
    std::string value;
    enc.encode_change(t, Op::kCreate, {}, row, source(), 5, value);
    const auto v = p2.parse(value).value();
    CHECK(v["schema"].error() == simdjson::NO_SUCH_FIELD);
    CHECK(int64_t(v["after"]["day"]) == 19724);

    const EnvelopeEncoder wrapped({EnvelopeForm::kSchemaPayload, ValueMode::kModsync});
    TableSchema t3 = t;
    t3.version = 3;
    t3.columns[3].name = "day2";
    wrapped.encode_change(t, Op::kCreate, {}, row, source(), 5, value);
    wrapped.encode_change(t3, Op::kCreate, {}, row, source(), 5, value);
    const auto w = p1.parse(value).value();
    CHECK(str(field_schema(field_schema(w["schema"], "after"), "day2")["type"]) == "string");
  }
}

TEST_CASE("the schema_payload envelope of truncates and messages", "[unit][debezium]") {
  const EnvelopeEncoder enc({EnvelopeForm::kSchemaPayload, ValueMode::kModsync});
  simdjson::dom::parser parser;
  std::string out;
  enc.encode_truncate(items(), source(), 5, out);
  auto v = parser.parse(out).value();
  CHECK(str(v["schema"]["name"]) == "modsync.shop.public.items.Envelope");
  CHECK(str(v["payload"]["op"]) == "t");
  enc.encode_message("shop", "db", "p", "hello", true, source(), 5, out);
  v = parser.parse(out).value();
  CHECK(str(v["schema"]["name"]) == "modsync.MessageValue");
  CHECK(str(v["payload"]["message"]["content"]) == "hello");
}
