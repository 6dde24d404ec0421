// EnvelopeReader: the apply side's reading of what EnvelopeEncoder writes, in both envelope
// forms and value modes, and of events that are not change events.

#include <catch2/catch.hpp>

#include <array>
#include <string>

#include "modsync/event/envelope.hpp"
#include "modsync/event/envelope_reader.hpp"
#include "modsync/event/event_headers.hpp"
#include "modsync/event/pg_types.hpp"

namespace pg = modsync::event::pg;
using modsync::Lsn;
using modsync::Position;
using modsync::event::ChangeEvent;
using modsync::event::ColumnValue;
using modsync::event::EncoderOptions;
using modsync::event::EnvelopeEncoder;
using modsync::event::EnvelopeForm;
using modsync::event::EnvelopeReader;
using modsync::event::Op;
using modsync::event::parse_position;
using modsync::event::SnapshotMarker;
using modsync::event::SourceInfo;
using modsync::event::TableSchema;
using modsync::event::ValueMode;

namespace {

using Kind = ColumnValue::Kind;

TableSchema items() {
  TableSchema t;
  t.module = "shop";
  t.database = "shop";
  t.schema = "public";
  t.table = "items";
  t.columns = {{"id", pg::kInt4Oid, -1, true},
               {"note", pg::kTextOid, -1, false},
               {"born", pg::kDateOid, -1, false}};
  t.version = 2;
  t.topic = "shop.public.items";
  return t;
}

SourceInfo source_at(uint64_t lsn, uint32_t index) {
  SourceInfo s;
  s.position = Position{Lsn{lsn}, index};
  s.xid = 9;
  s.commit_time_ms = 1'704'164'645'123;
  return s;
}

std::string str(simdjson::simdjson_result<simdjson::dom::element> e) {
  return std::string(std::string_view(e.get_string().value()));
}

}  // namespace

TEST_CASE("source positions are read back as Position::to_string writes them",
          "[unit][event][reader]") {
  const Position p{Lsn{0x16B374D848ull}, 3};
  REQUIRE(parse_position(p.to_string()));
  CHECK(*parse_position(p.to_string()) == p);
  CHECK(parse_position("0/0#0") == Position{Lsn{0}, 0});
  CHECK_FALSE(parse_position("16/B374D848"));
  CHECK_FALSE(parse_position("16/B374D848#3a"));
  CHECK_FALSE(parse_position("nonsense#3"));
  CHECK_FALSE(parse_position(""));
}

TEST_CASE("an encoded update reads back: op, position, times, row images, unchanged",
          "[unit][event][reader]") {
  for (const auto form : {EnvelopeForm::kPlain, EnvelopeForm::kSchemaPayload}) {
    INFO((form == EnvelopeForm::kPlain ? "plain" : "schema_payload"));
    EnvelopeEncoder encoder(EncoderOptions{form, ValueMode::kModsync});
    const std::array before{ColumnValue{Kind::kText, "7"}, ColumnValue{Kind::kNull, {}},
                            ColumnValue{Kind::kNull, {}}};
    const std::array after{ColumnValue{Kind::kText, "7"}, ColumnValue{Kind::kUnchanged, {}},
                           ColumnValue{Kind::kText, "2024-02-29"}};
    std::string value;
    encoder.encode_change(items(), Op::kUpdate, before, after, source_at(0x1000, 4), 5, value);

    EnvelopeReader reader;
    ChangeEvent e;
    REQUIRE(reader.read(value, e) == EnvelopeReader::Status::kOk);
    CHECK(e.op() == 'u');
    CHECK(e.position() == Position{Lsn{0x1000}, 4});
    CHECK(e.source_ts_ms() == 1'704'164'645'123);
    CHECK_FALSE(e.snapshot());
    CHECK_FALSE(e.debezium_values());
    CHECK(e.connect_schema().has_value() == (form == EnvelopeForm::kSchemaPayload));
    const auto row = e.row(false);
    REQUIRE(row);
    CHECK(int64_t((*row)["id"]) == 7);
    CHECK(str((*row)["born"]) == "2024-02-29");
    CHECK((*row)["note"].error() == simdjson::NO_SUCH_FIELD);  // unchanged: left out
    CHECK(e.unchanged().contains("note"));
    CHECK_FALSE(e.unchanged().contains("born"));
    const auto old = e.row(true);
    REQUIRE(old);
    CHECK(int64_t((*old)["id"]) == 7);
  }
}

TEST_CASE("deletes, truncates, snapshot rows and Debezium value mode read back",
          "[unit][event][reader]") {
  EnvelopeReader reader;
  ChangeEvent e;
  std::string value;
  const std::array key{ColumnValue{Kind::kText, "7"}, ColumnValue{Kind::kNull, {}},
                       ColumnValue{Kind::kNull, {}}};

  EnvelopeEncoder plain;
  plain.encode_change(items(), Op::kDelete, key, {}, source_at(0x2000, 0), 5, value);
  REQUIRE(reader.read(value, e) == EnvelopeReader::Status::kOk);
  CHECK(e.op() == 'd');
  CHECK(e.row(true));
  CHECK_FALSE(e.row(false));  // "after": null
  CHECK_FALSE(e.unchanged().contains("note"));

  SourceInfo snapshot = source_at(0x3000, 0);
  snapshot.snapshot = SnapshotMarker::kTrue;
  plain.encode_truncate(items(), snapshot, 5, value);
  REQUIRE(reader.read(value, e) == EnvelopeReader::Status::kOk);
  CHECK(e.op() == 't');
  CHECK(e.snapshot());
  CHECK(e.position() == Position{Lsn{0x3000}, 0});

  EnvelopeEncoder debezium(EncoderOptions{EnvelopeForm::kSchemaPayload, ValueMode::kDebezium});
  const std::array row{ColumnValue{Kind::kText, "8"}, ColumnValue{Kind::kText, "x"},
                       ColumnValue{Kind::kText, "1970-01-11"}};
  debezium.encode_change(items(), Op::kCreate, {}, row, source_at(0x4000, 1), 5, value);
  REQUIRE(reader.read(value, e) == EnvelopeReader::Status::kOk);
  CHECK(e.op() == 'c');
  CHECK(e.debezium_values());
  REQUIRE(e.connect_schema());
  CHECK(int64_t((*e.row(false))["born"]) == 10);  // io.debezium.time.Date: epoch days
}

TEST_CASE("values that are not change events are told apart", "[unit][event][reader]") {
  EnvelopeReader reader;
  ChangeEvent e;
  CHECK(reader.read("not json", e) == EnvelopeReader::Status::kNotAnEvent);
  CHECK(reader.read("[1,2]", e) == EnvelopeReader::Status::kNotAnEvent);
  CHECK(reader.read("", e) == EnvelopeReader::Status::kNotAnEvent);
  CHECK(reader.read(R"({"after":{"id":1}})", e) == EnvelopeReader::Status::kNoOp);
  CHECK(reader.read(R"({"op":"cu","after":{"id":1}})", e) == EnvelopeReader::Status::kNoOp);
  CHECK(reader.read(R"({"op":1})", e) == EnvelopeReader::Status::kNoOp);
  CHECK(std::string(EnvelopeReader::describe(EnvelopeReader::Status::kNoOp)) ==
        "the event has no \"op\" field");
  // A "payload" without a "schema" is not the schema_payload envelope: read as it is.
  REQUIRE(reader.read(R"({"payload":{"op":"c"},"op":"u"})", e) == EnvelopeReader::Status::kOk);
  CHECK(e.op() == 'u');
  CHECK_FALSE(e.connect_schema());
  // No position, a malformed one.
  REQUIRE(reader.read(R"({"op":"c","source":{"position":"0/10"}})", e) ==
          EnvelopeReader::Status::kOk);
  CHECK_FALSE(e.position());
  CHECK(e.source_ts_ms() == 0);
}

TEST_CASE("an old event with a json number beyond 64 bits is read, the number as its text",
          "[unit][event][reader]") {
  EnvelopeReader reader;
  ChangeEvent e;
  const std::string value =
      R"({"before":null,"after":{"id":1,"doc":{"n":123456789012345678901234567890}},"op":"c",)"
      R"("source":{"position":"0/10#0"}})";
  REQUIRE(reader.read(value, e) == EnvelopeReader::Status::kOk);
  CHECK(str((*e.row(false))["doc"]) == R"({"n":123456789012345678901234567890})");
  CHECK(e.position() == Position{Lsn{0x10}, 0});
}

TEST_CASE("the schema version header", "[unit][event][reader]") {
  using modsync::event::schema_version_of;
  CHECK(schema_version_of(std::nullopt) == 1);
  CHECK(schema_version_of("1") == 1);
  CHECK(schema_version_of("12") == 12);
  CHECK(modsync::event::kSchemaVersionHeader == "modsync.schema_version");
}
