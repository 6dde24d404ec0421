// append_copy_value: event JSON values → the COPY text of a target column.

#include <catch2/catch.hpp>

#include <array>
#include <optional>
#include <string>

#include "modsync/event/envelope.hpp"
#include "modsync/event/envelope_reader.hpp"
#include "modsync/event/pg_types.hpp"
#include "value_decoder.hpp"

using modsync::apply::append_copy_value;
using modsync::pgsink::TargetColumn;
namespace pg = modsync::event::pg;

namespace {

TargetColumn column(uint32_t oid, char category) {
  TargetColumn c;
  c.name = "c";
  c.type_oid = oid;
  c.category = category;
  return c;
}

/// The COPY text of `json` (one JSON value) for a column of type `oid`.
std::string copy_text(const std::string& json, uint32_t oid, char category) {
  simdjson::dom::parser parser;
  simdjson::dom::element e = parser.parse(json).value();
  std::string scratch, out, error;
  if (!append_copy_value(e, column(oid, category), scratch, out, error)) return "error: " + error;
  return out;
}

}  // namespace

TEST_CASE("astronomical years become PostgreSQL's BC form", "[unit][apply][types]") {
  CHECK(copy_text(R"j("-4712-01-01")j", pg::kDateOid, 'D') == "4713-01-01 BC");
  CHECK(copy_text(R"j("0000-12-31")j", pg::kDateOid, 'D') == "0001-12-31 BC");
  CHECK(copy_text(R"j("-0001-01-01T00:00:00")j", pg::kTimestampOid, 'D') ==
        "0002-01-01 00:00:00 BC");
  CHECK(copy_text(R"j("0000-01-01T00:00:00Z")j", pg::kTimestampTzOid, 'D') ==
        "0001-01-01 00:00:00Z BC");
  CHECK(copy_text(R"j("-4712-01-01T00:00:00.5-03:30:52")j", pg::kTimestampTzOid, 'D') ==
        "4713-01-01 00:00:00.5-03:30:52 BC");
  // AD years, infinities and other types are PostgreSQL input as they are.
  CHECK(copy_text(R"j("2024-01-02T03:04:05Z")j", pg::kTimestampTzOid, 'D') ==
        "2024-01-02T03:04:05Z");
  CHECK(copy_text(R"j("0001-01-01")j", pg::kDateOid, 'D') == "0001-01-01");
  CHECK(copy_text(R"j("-infinity")j", pg::kDateOid, 'D') == "-infinity");
  CHECK(copy_text(R"j("-4712-01-01")j", pg::kTextOid, 'S') == "-4712-01-01");
  CHECK(copy_text(R"j(["-4712-01-01", null, "2000-01-01"])j", pg::kDateArrayOid, 'A') ==
        R"j({"4713-01-01 BC",NULL,"2000-01-01"})j");
}

TEST_CASE("json text, JSON null and arrays of json", "[unit][apply][types]") {
  // json travels as a string of its exact text; COPY escapes only backslash and controls.
  CHECK(copy_text(R"j("{\"a\": [1, 2.50, null],\n \"a\": 1}")j", pg::kJsonOid, 'U') ==
        "{\"a\": [1, 2.50, null],\\n \"a\": 1}");
  CHECK(copy_text(R"j("null")j", pg::kJsonbOid, 'U') == "null");
  CHECK(copy_text("null", pg::kJsonbOid, 'U') == "\\N");
  CHECK(copy_text(R"j(["null", null, "{\"k\": \"v\\\\w\"}"])j", pg::kJsonbArrayOid, 'A') ==
        R"j({"null",NULL,"{\\"k\\": \\"v\\\\\\\\w\\"}"})j");
}

TEST_CASE("array literals use the element type's delimiter and input form",
          "[unit][apply][types]") {
  CHECK(copy_text(R"j(["(1,1),(0,0)", "(2,2),(1,1)"])j", pg::kBoxArrayOid, 'A') ==
        R"j({"(1,1),(0,0)";"(2,2),(1,1)"})j");
  // bytea elements arrive as base64; PostgreSQL's array input wants \x hex.
  CHECK(copy_text(R"j(["AAH/", "", null])j", pg::kByteaArrayOid, 'A') ==
        R"j({"\\\\x0001ff","\\\\x",NULL})j");
  CHECK(copy_text(R"j([[1, -0.0], [true, "NULL"]])j", pg::kInt4ArrayOid, 'A') ==
        R"j({{1,-0},{true,"NULL"}})j");
  CHECK(copy_text("[]", pg::kInt4ArrayOid, 'A') == "{}");
  // An array of an unknown (user-defined) element type: quoted elements, comma delimiter.
  CHECK(copy_text(R"j(["a,b"])j", 99999, 'A') == R"j({"a,b"})j");
}

// The stage and the bulk path's COPY read bytea's hex input; what is not base64 is refused (the
// event then goes to the dead-letter topic), not read as bytea's escape form.
TEST_CASE("a bytea value is COPYed as hex input, and one that is not base64 is refused",
          "[unit][apply][types]") {
  CHECK(copy_text(R"j("Zm9vYg==")j", pg::kByteaOid, 'U') == "\\\\x666f6f62");
  CHECK(copy_text(R"j("")j", pg::kByteaOid, 'U') == "\\\\x");
  CHECK(copy_text("null", pg::kByteaOid, 'U') == "\\N");
  const std::string not_base64 = copy_text(R"j("Zm9")j", pg::kByteaOid, 'U');
  CHECK(not_base64.starts_with("error: a bytea value that is not base64"));
  const std::string number = copy_text("42", pg::kByteaOid, 'U');
  CHECK(number.starts_with("error: a bytea value that is not a string"));
  CHECK(copy_text(R"j("Zm9")j", pg::kTextOid, 'S') == "Zm9");
}

TEST_CASE("base64 to bytea hex input", "[unit][event][types]") {
  std::string out;
  CHECK(modsync::event::append_bytea_hex_input("Zm9vYg==", out));
  CHECK(out == "\\x666f6f62");
  out.clear();
  CHECK(modsync::event::append_bytea_hex_input("Zm9vYmE=", out));
  CHECK(out == "\\x666f6f6261");
  out = "keep";
  CHECK_FALSE(modsync::event::append_bytea_hex_input("Zm9", out));
  CHECK_FALSE(modsync::event::append_bytea_hex_input("Zm9*", out));
  CHECK(out == "keep");
}

TEST_CASE("an old event embedding a json value with a number beyond 64 bits is still read",
          "[unit][apply][types]") {
  using modsync::event::quote_unreadable_row_values;
  const std::string event =
      R"j({"before":null,"after":{"id":1,"doc":{"big": [123456789012345678901234567890, 1.5]},)j"
      R"j("n":-9223372036854775808,"f":1e400,"s":"99999999999999999999999"},"op":"c"})j";
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  REQUIRE(parser.parse(event).get(doc) != simdjson::SUCCESS);
  const auto quoted = quote_unreadable_row_values(event);
  REQUIRE(quoted);
  // Only the fields holding such a number change, into strings of their exact text.
  CHECK(
      *quoted ==
      R"j({"before":null,"after":{"id":1,"doc":"{\"big\": [123456789012345678901234567890, 1.5]}",)j"
      R"j("n":-9223372036854775808,"f":"1e400","s":"99999999999999999999999"},"op":"c"})j");
  REQUIRE(parser.parse(*quoted).get(doc) == simdjson::SUCCESS);
  std::string scratch, out, error;
  REQUIRE(append_copy_value(doc["after"]["doc"].value(), column(pg::kJsonbOid, 'U'), scratch, out,
                            error));
  CHECK(out == R"j({"big": [123456789012345678901234567890, 1.5]})j");
  // Nothing to quote, or not an event: no copy.
  CHECK_FALSE(quote_unreadable_row_values(R"j({"after":{"id":18446744073709551615}})j"));
  CHECK_FALSE(quote_unreadable_row_values(R"j([1])j"));
  CHECK_FALSE(quote_unreadable_row_values(R"j({"after":{"x":1)j"));
}

namespace {

using modsync::apply::append_debezium_copy_value;
using modsync::apply::ConnectRowSchema;
using modsync::apply::debezium_field_of;
using modsync::apply::DebeziumField;

TargetColumn typed(uint32_t oid, char category, std::string type) {
  TargetColumn c = column(oid, category);
  c.type = std::move(type);
  return c;
}

/// The COPY text of `json` in Debezium value mode for `target`, read by `field` (by default the
/// target's own type); "error: …" when it cannot be read.
std::string debezium_text(const std::string& json, const TargetColumn& target,
                          std::optional<DebeziumField> field = std::nullopt) {
  simdjson::dom::parser parser;
  simdjson::dom::element e = parser.parse(json).value();
  std::string scratch, out, error;
  if (!append_debezium_copy_value(e, target, field ? *field : debezium_field_of(target), scratch,
                                  out, error))
    return "error: " + error;
  return out;
}

int32_t numeric_mod(int32_t precision, int32_t scale) {
  return ((precision << 16) | (scale & 0x7FF)) + 4;
}

}  // namespace

TEST_CASE("Debezium value mode reads back by the target column's type", "[unit][apply][debezium]") {
  const TargetColumn date = typed(pg::kDateOid, 'D', "date");
  CHECK(debezium_text("19724", date) == "2024-01-02");
  CHECK(debezium_text("-2440550", date) == "4713-01-01 BC");
  CHECK(debezium_text("\"infinity\"", date) == "infinity");
  CHECK(debezium_text("null", date) == "\\N");
  CHECK(debezium_text("99999999999", date).rfind("error: ", 0) == 0);
  CHECK(debezium_text("1704164645123",
                      typed(pg::kTimestampOid, 'D', "timestamp(3) without time zone")) ==
        "2024-01-02 03:04:05.123");
  CHECK(debezium_text("1704164645123456",
                      typed(pg::kTimestampOid, 'D', "timestamp without time zone")) ==
        "2024-01-02 03:04:05.123456");
  CHECK(debezium_text("86400000000", typed(pg::kTimeOid, 'D', "time without time zone")) ==
        "24:00:00");
  CHECK(debezium_text("\"BOI=\"", typed(pg::kNumericOid, 'N', "numeric(10,2)")) == "12.50");
  CHECK(debezium_text("\"NaN\"", typed(pg::kNumericOid, 'N', "numeric(10,2)")) == "NaN");
  // Without a schema, an unconstrained numeric's NaN and infinities are still their text.
  CHECK(debezium_text("\"NaN\"", typed(pg::kNumericOid, 'N', "numeric")) == "NaN");
  CHECK(debezium_text("\"-Infinity\"", typed(pg::kNumericOid, 'N', "numeric")) == "-Infinity");
  CHECK(debezium_text(R"({"scale":3,"value":"/w=="})", typed(pg::kNumericOid, 'N', "numeric")) ==
        "-0.001");
  // A Decimal's scale is in the schema; a numeric target without one cannot supply it.
  CHECK(debezium_text("\"BOI=\"", typed(pg::kNumericOid, 'N', "numeric")).find("schema_payload") !=
        std::string::npos);
  // Other types are read as in modsync's value mode.
  CHECK(debezium_text("\"AP8=\"", typed(pg::kByteaOid, 'U', "bytea")) == "\\\\x00ff");
  CHECK(debezium_text("\"a\\tb\"", typed(pg::kTextOid, 'S', "text")) == "a\\tb");
}

TEST_CASE("filters see Debezium's forms as modsync's", "[unit][apply][debezium]") {
  const auto text = [](const std::string& json, const TargetColumn& target) {
    simdjson::dom::parser parser;
    std::string out, error;
    if (!modsync::apply::append_debezium_modsync_text(parser.parse(json).value(),
                                                      debezium_field_of(target), out, error))
      return "not converted " + error;
    return out;
  };
  CHECK(text("-2440550", typed(pg::kDateOid, 'D', "date")) == "-4712-01-01");
  CHECK(text("19724", typed(pg::kDateOid, 'D', "date")) == "2024-01-02");
  CHECK(text("1704164645123456", typed(pg::kTimestampOid, 'D', "timestamp without time zone")) ==
        "2024-01-02T03:04:05.123456");
  CHECK(text("\"BOI=\"", typed(pg::kNumericOid, 'N', "numeric(10,2)")) == "12.50");
  CHECK(text("\"infinity\"", typed(pg::kDateOid, 'D', "date")) == "not converted ");
}

TEST_CASE("an event's Connect schema decides how its fields are read", "[unit][apply][debezium]") {
  namespace ev = modsync::event;
  ev::TableSchema t;
  t.module = "m";
  t.schema = "public";
  t.table = "t";
  t.topic = "modsync.m.public.t";
  t.columns = {{"id", pg::kInt4Oid, -1, true, "integer"},
               {"d", pg::kDateOid, -1, false, "date"},
               {"ts", pg::kTimestampOid, 3, false, "timestamp(3) without time zone"},
               {"n", pg::kNumericOid, numeric_mod(12, 4), false, "numeric(12,4)"},
               {"v", pg::kNumericOid, -1, false, "numeric"}};
  const std::array<ev::ColumnValue, 5> row{
      ev::ColumnValue{ev::ColumnValue::Kind::kText, "1"},
      ev::ColumnValue{ev::ColumnValue::Kind::kText, "0044-03-15 BC"},
      ev::ColumnValue{ev::ColumnValue::Kind::kText, "1999-12-31 23:59:59.999"},
      ev::ColumnValue{ev::ColumnValue::Kind::kText, "-12345678.0001"},
      ev::ColumnValue{ev::ColumnValue::Kind::kText, "3.14159265358979323846264338327950288"}};
  ev::SourceInfo source;
  source.position = modsync::Position{modsync::Lsn{16}, 0};
  std::string json;
  ev::EnvelopeEncoder({ev::EnvelopeForm::kSchemaPayload, ev::ValueMode::kDebezium})
      .encode_change(t, ev::Op::kCreate, {}, row, source, 1, json);
  simdjson::dom::parser parser;
  const simdjson::dom::element doc = parser.parse(json).value();
  ConnectRowSchema schema;
  schema.load(doc["schema"]);
  REQUIRE_FALSE(schema.empty());
  // Text targets: only the schema says what the numbers and base64 strings are.
  const TargetColumn text = typed(pg::kTextOid, 'S', "text");
  const std::array<std::string_view, 5> expected{"1", "0044-03-15 BC", "1999-12-31 23:59:59.999",
                                                 "-12345678.0001",
                                                 "3.14159265358979323846264338327950288"};
  for (std::size_t i = 0; i < t.columns.size(); ++i) {
    INFO(t.columns[i].name);
    const DebeziumField* f = schema.find(t.columns[i].name);
    REQUIRE(f != nullptr);
    std::string scratch, out, error;
    REQUIRE(append_debezium_copy_value(doc["payload"]["after"][t.columns[i].name], text, *f,
                                       scratch, out, error));
    CHECK(out == expected[i]);
  }
}
