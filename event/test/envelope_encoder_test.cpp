#include <simdjson.h>
#include <catch2/catch.hpp>

#include <array>
#include <string>
#include <vector>

#include "modsync/common/error.hpp"
#include "modsync/event/envelope.hpp"
#include "modsync/event/pg_types.hpp"
#include "modsync/event/version.hpp"

namespace pg = modsync::event::pg;
using modsync::Lsn;
using modsync::Position;
using modsync::event::ColumnValue;
using modsync::event::EnvelopeEncoder;
using modsync::event::Op;
using modsync::event::SnapshotMarker;
using modsync::event::SourceInfo;
using modsync::event::TableSchema;

namespace {

using Kind = ColumnValue::Kind;

ColumnValue text(std::string_view v) {
  return {Kind::kText, v};
}
ColumnValue null() {
  return {Kind::kNull, {}};
}
ColumnValue unchanged() {
  return {Kind::kUnchanged, {}};
}

TableSchema orders() {
  TableSchema t;
  t.module = "orders";
  t.database = "shop";
  t.schema = "public";
  t.table = "order \"lines\"";
  t.columns = {{"id", pg::kInt4Oid, -1, true},
               {"note", pg::kTextOid, -1, false},
               {"doc", pg::kJsonbOid, -1, false},
               {"amount", pg::kNumericOid, -1, false}};
  t.version = 3;
  t.topic = "modsync.orders.public.order_lines";
  return t;
}

SourceInfo source_at(uint64_t lsn, uint32_t index) {
  SourceInfo s;
  s.position = Position{Lsn{lsn}, index};
  s.xid = 771;
  s.commit_time_ms = 1'704'164'645'123;
  return s;
}

simdjson::dom::element parse(simdjson::dom::parser& parser, const std::string& json) {
  INFO(json);
  auto result = parser.parse(json);
  REQUIRE(result.error() == simdjson::SUCCESS);
  return result.value();
}

std::string str(simdjson::dom::element e) {
  return std::string(std::string_view(e));
}

void check_source(simdjson::dom::element source, const SourceInfo& info, std::string_view table,
                  int64_t schema_version) {
  CHECK(str(source["version"]) == modsync::event::kModsyncVersion);
  CHECK(str(source["connector"]) == "modsync");
  CHECK(str(source["name"]) == "orders");
  CHECK(int64_t(source["ts_ms"]) == info.commit_time_ms);
  CHECK(str(source["db"]) == "shop");
  CHECK(str(source["table"]) == table);
  CHECK(uint64_t(source["lsn"]) == info.position.commit_lsn.value());
  CHECK(str(source["module"]) == "orders");
  CHECK(str(source["position"]) == info.position.to_string());
  if (schema_version > 0) {
    CHECK(int64_t(source["schema_version"]) == schema_version);
  } else {
    CHECK(source["schema_version"].error() == simdjson::NO_SUCH_FIELD);
  }
}

}  // namespace

TEST_CASE("an insert has null before, the row as after, and the source block", "[envelope]") {
  const TableSchema table = orders();
  const std::array after{text("42"), text("say \"hi\"\n"), text(R"({"k": [1, 2]})"), text("12.50")};
  const SourceInfo info = source_at(0x16B374D848, 7);
  std::string out = "stale content";
  EnvelopeEncoder{}.encode_change(table, Op::kCreate, {}, after, info, 1'704'164'646'000, out);

  simdjson::dom::parser parser;
  auto doc = parse(parser, out);
  CHECK(doc["before"].is_null());
  CHECK(int64_t(doc["after"]["id"]) == 42);
  CHECK(str(doc["after"]["note"]) == "say \"hi\"\n");
  CHECK(str(doc["after"]["doc"]) == R"({"k": [1, 2]})");
  CHECK(str(doc["after"]["amount"]) == "12.50");
  CHECK(str(doc["op"]) == "c");
  CHECK(int64_t(doc["ts_ms"]) == 1'704'164'646'000);
  CHECK(doc["unchanged"].error() == simdjson::NO_SUCH_FIELD);
  simdjson::dom::element source = doc["source"];
  check_source(source, info, "order \"lines\"", 3);
  CHECK(str(source["snapshot"]) == "false");
  CHECK(str(source["schema"]) == "public");
  CHECK(int64_t(source["txId"]) == 771);
  CHECK(str(source["position"]) == "16/B374D848#7");
}

TEST_CASE("an update lists unchanged TOASTed columns instead of sending them", "[envelope]") {
  const TableSchema table = orders();
  const std::array after{text("42"), unchanged(), unchanged(), null()};
  std::string out;
  EnvelopeEncoder{}.encode_change(table, Op::kUpdate, {}, after, source_at(100, 0), 5, out);

  simdjson::dom::parser parser;
  auto doc = parse(parser, out);
  CHECK(doc["before"].is_null());
  CHECK(int64_t(doc["after"]["id"]) == 42);
  CHECK(doc["after"]["note"].error() == simdjson::NO_SUCH_FIELD);
  CHECK(doc["after"]["doc"].error() == simdjson::NO_SUCH_FIELD);
  CHECK(doc["after"]["amount"].is_null());
  CHECK(str(doc["op"]) == "u");
  simdjson::dom::array list = doc["unchanged"];
  REQUIRE(list.size() == 2);
  CHECK(str(list.at(0)) == "note");
  CHECK(str(list.at(1)) == "doc");
}

TEST_CASE("an update with an old image carries both images", "[envelope]") {
  const TableSchema table = orders();
  const std::array before{text("41"), null(), null(), null()};
  const std::array after{text("42"), text("n"), text("[]"), text("NaN")};
  std::string out;
  EnvelopeEncoder{}.encode_change(table, Op::kUpdate, before, after, source_at(100, 1), 5, out);

  simdjson::dom::parser parser;
  auto doc = parse(parser, out);
  CHECK(int64_t(doc["before"]["id"]) == 41);
  CHECK(doc["before"]["note"].is_null());
  CHECK(int64_t(doc["after"]["id"]) == 42);
  CHECK(str(doc["after"]["amount"]) == "NaN");
}

TEST_CASE("a delete has the old key image as before and null after", "[envelope]") {
  const TableSchema table = orders();
  const std::array before{text("42"), null(), null(), null()};
  std::string out;
  EnvelopeEncoder{}.encode_change(table, Op::kDelete, before, {}, source_at(100, 2), 5, out);

  simdjson::dom::parser parser;
  auto doc = parse(parser, out);
  CHECK(int64_t(doc["before"]["id"]) == 42);
  CHECK(doc["after"].is_null());
  CHECK(str(doc["op"]) == "d");
}

TEST_CASE("snapshot rows say so in the source block and have no txId", "[envelope]") {
  const TableSchema table = orders();
  const std::array after{text("1"), null(), null(), null()};
  SourceInfo info = source_at(100, 0);
  info.xid = 0;
  std::string out;
  simdjson::dom::parser parser;

  info.snapshot = SnapshotMarker::kTrue;
  EnvelopeEncoder{}.encode_change(table, Op::kRead, {}, after, info, 5, out);
  auto doc = parse(parser, out);
  CHECK(str(doc["op"]) == "r");
  CHECK(str(doc["source"]["snapshot"]) == "true");
  CHECK(doc["source"]["txId"].is_null());

  info.snapshot = SnapshotMarker::kLast;
  EnvelopeEncoder{}.encode_change(table, Op::kRead, {}, after, info, 5, out);
  CHECK(str(parse(parser, out)["source"]["snapshot"]) == "last");
}

TEST_CASE("binary column values are carried as base64", "[envelope]") {
  TableSchema table = orders();
  const std::array after{text("1"), ColumnValue{Kind::kBinary, "foo"}, null(), null()};
  std::string out;
  EnvelopeEncoder{}.encode_change(table, Op::kCreate, {}, after, source_at(1, 0), 5, out);
  simdjson::dom::parser parser;
  CHECK(str(parse(parser, out)["after"]["note"]) == "Zm9v");
}

TEST_CASE("a row whose width differs from the schema is refused with context", "[envelope]") {
  const TableSchema table = orders();
  const std::array after{text("1"), null()};
  std::string out;
  CHECK_THROWS_WITH(
      EnvelopeEncoder{}.encode_change(table, Op::kCreate, {}, after, source_at(1, 0), 5, out),
      Catch::Contains("order \"lines\"") && Catch::Contains("has 2 columns") &&
          Catch::Contains("schema version 3 has 4"));
}

TEST_CASE("a truncate has null images and op t", "[envelope]") {
  const TableSchema table = orders();
  const SourceInfo info = source_at(0x2000, 9);
  std::string out;
  EnvelopeEncoder{}.encode_truncate(table, info, 77, out);

  simdjson::dom::parser parser;
  auto doc = parse(parser, out);
  CHECK(doc["before"].is_null());
  CHECK(doc["after"].is_null());
  CHECK(str(doc["op"]) == "t");
  CHECK(int64_t(doc["ts_ms"]) == 77);
  check_source(doc["source"], info, "order \"lines\"", 3);
}

TEST_CASE("a UTF-8 logical message carries its content as a string", "[envelope]") {
  const SourceInfo info = source_at(0x3000, 0);
  std::string out;
  EnvelopeEncoder{}.encode_message("orders", "shop", "audit", "hé \"x\"", true, info, 88, out);

  simdjson::dom::parser parser;
  auto doc = parse(parser, out);
  CHECK(str(doc["op"]) == "m");
  CHECK(int64_t(doc["ts_ms"]) == 88);
  check_source(doc["source"], info, "", 0);
  CHECK(str(doc["source"]["schema"]).empty());
  auto message = doc["message"];
  CHECK(str(message["prefix"]) == "audit");
  CHECK(str(message["content"]) == "hé \"x\"");
  CHECK(bool(message["transactional"]));
  CHECK(message["content_encoding"].error() == simdjson::NO_SUCH_FIELD);
}

TEST_CASE("a binary logical message carries base64 content and says so", "[envelope]") {
  std::string out;
  const std::string_view content("\xff\x00\x01", 3);
  EnvelopeEncoder{}.encode_message("orders", "shop", "p", content, false, source_at(1, 0), 1, out);

  simdjson::dom::parser parser;
  auto message = parse(parser, out)["message"];
  CHECK(str(message["content"]) == "/wAB");
  CHECK(str(message["content_encoding"]) == "base64");
  CHECK_FALSE(bool(message["transactional"]));
}

TEST_CASE("invalid UTF-8 of every kind is detected in message content", "[envelope]") {
  simdjson::dom::parser parser;
  std::string out;
  for (std::string_view bad : {"\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                               "\xe2\x82", "\x80", "\xf8\x88\x80\x80\x80"}) {
    EnvelopeEncoder{}.encode_message("m", "d", "p", bad, true, source_at(1, 0), 1, out);
    INFO(out);
    CHECK(str(parse(parser, out)["message"]["content_encoding"]) == "base64");
  }
  for (std::string_view good : {"\xc2\xa9", "\xe2\x82\xac", "\xf0\x9f\x9a\x80", "\xef\xbf\xbf"}) {
    EnvelopeEncoder{}.encode_message("m", "d", "p", good, true, source_at(1, 0), 1, out);
    CHECK(str(parse(parser, out)["message"]["content"]) == good);
  }
}

TEST_CASE("keys are objects of the key columns in column order", "[key]") {
  TableSchema table = orders();
  table.columns[1].key = true;
  const std::array row{text("42"), text("x"), text("{}"), text("1")};
  std::string out = "stale";
  REQUIRE(EnvelopeEncoder{}.encode_key(table, row, out));
  CHECK(out == R"({"id":42,"note":"x"})");

  table = orders();
  REQUIRE(EnvelopeEncoder{}.encode_key(table, row, out));
  CHECK(out == R"({"id":42})");
}

TEST_CASE("a key-only image yields the key", "[key]") {
  const TableSchema table = orders();
  const std::array key_only{text("42"), null(), null(), null()};
  std::string out;
  REQUIRE(EnvelopeEncoder{}.encode_key(table, key_only, out));
  CHECK(out == R"({"id":42})");
}

TEST_CASE("a table without key columns has no key", "[key]") {
  TableSchema table = orders();
  table.columns[0].key = false;
  const std::array row{text("42"), null(), null(), null()};
  std::string out = "stale";
  CHECK_FALSE(EnvelopeEncoder{}.encode_key(table, row, out));
  CHECK(out.empty());
}

TEST_CASE("an unchanged TOASTed key column is refused", "[key]") {
  TableSchema table = orders();
  table.columns[1].key = true;
  const std::array row{text("42"), unchanged(), null(), null()};
  std::string out;
  CHECK_THROWS_AS(EnvelopeEncoder{}.encode_key(table, row, out), modsync::Error);
  CHECK(out.empty());
}

// PostgreSQL logs an update that rewrites only the text of such a key (5.0 -> 5.00, a citext's
// case) as a key change: its delete and create must share a partition, so their Kafka keys too.
TEST_CASE("equal keys whose texts differ get one Kafka key", "[key]") {
  using modsync::event::canonical_key_text;
  using modsync::event::Column;
  struct Case {
    Column column;
    std::vector<std::string_view> texts;
    std::string_view canonical;
  };
  const Column numeric{"k", pg::kNumericOid, -1, true};
  const Column citext{"k", 16400, -1, true, "citext"};
  const Column qualified_citext{"k", 16400, -1, true, "ext.citext"};
  const std::vector<Case> cases = {
      {numeric, {"5.0", "5.00", "5", "5.000"}, "5"},
      {numeric, {"-12.3400", "-12.34"}, "-12.34"},
      {numeric, {"100"}, "100"},
      {numeric, {"0.000", "0"}, "0"},
      {numeric, {"NaN"}, "NaN"},
      {{"k", pg::kNumericOid, (10 << 16) + 2 + 4, true}, {"5.00"}, "5.00"},  // numeric(10,2)
      {{"k", pg::kFloat8Oid, -1, true}, {"-0", "0"}, "0"},
      {{"k", pg::kFloat4Oid, -1, true}, {"1.5"}, "1.5"},
      {citext, {"Ann@X.org", "ann@x.org", "ANN@X.ORG"}, "ann@x.org"},
      {qualified_citext,
       {"\xc3\x89"
        "COLE",
        "\xc3\xa9"
        "cole"},
       "\xc3\xa9"
       "cole"},  // ÉCOLE, école
      {citext,
       {"\xff"
        "A"},
       "\xff"
       "a"},  // not UTF-8: kept, ASCII still folded
      // One instant as sessions in different zones print it: in UTC.
      {{"k", pg::kTimestampTzOid, -1, true},
       {"2026-03-08 12:34:56.789+05:30", "2026-03-08 07:04:56.789+00",
        "2026-03-07 20:34:56.789-10:30"},
       "2026-03-08 07:04:56.789+00"},
      {{"k", pg::kTimestampTzOid, -1, true},
       {"0001-01-01 00:30:00+01 BC", "0002-12-31 23:30:00+00 BC"},
       "0002-12-31 23:30:00+00 BC"},
      {{"k", pg::kTimestampTzOid, -1, true},
       {"1900-01-01 00:00:00-03:30:52", "1900-01-01 03:30:52+00"},
       "1900-01-01 03:30:52+00"},
      {{"k", pg::kTimestampTzOid, -1, true},
       {"0001-01-01 00:30:00+01"},
       "0001-12-31 23:30:00+00 BC"},
      {{"k", pg::kTimestampTzOid, -1, true}, {"infinity"}, "infinity"},
      {{"k", pg::kTimestampTzOid, -1, true},
       {"12345-06-07 08:09:10+02"},
       "12345-06-07 06:09:10+00"},
      // Equal spans: months count 30 days, days 24 hours.
      {{"k", pg::kIntervalOid, -1, true},
       {"1 mon", "30 days", "720:00:00", "29 days 24:00:00", "1 mon -1 days +24:00:00"},
       "30 days 00:00:00.000000"},
      {{"k", pg::kIntervalOid, -1, true},
       {"1 year 2 mons 3 days 04:05:06.789", "423 days 04:05:06.789000"},
       "423 days 04:05:06.789000"},
      {{"k", pg::kIntervalOid, -1, true},
       {"-1 days +02:00:00", "-22:00:00"},
       "-1 days 02:00:00.000000"},
      {{"k", pg::kIntervalOid, -1, true}, {"00:00:00"}, "0 days 00:00:00.000000"},
      {{"k", pg::kIntervalOid, -1, true}, {"P1D"}, "P1D"},  // not the postgres style: as it is
      {{"k", pg::kBpcharOid, -1, true}, {"b", "b  "}, "b"},
      {{"k", pg::kBpcharOid, 8, true}, {"b  "}, "b  "},  // character(4): always padded
      {{"k", pg::kTextOid, -1, true, "text"}, {"ABC"}, "ABC"},
      {{"k", 16500, -1, true, "public.notcitext"}, {"ABC"}, "ABC"},
  };
  std::string scratch;
  for (const Case& c : cases) {
    for (const std::string_view t : c.texts) {
      INFO(c.column.type_name << " " << c.column.type_oid << " " << t);
      CHECK(canonical_key_text(c.column, t, scratch) == c.canonical);
    }
  }

  TableSchema table = orders();
  table.columns[0] = numeric;
  for (const auto mode :
       {modsync::event::ValueMode::kModsync, modsync::event::ValueMode::kDebezium}) {
    const EnvelopeEncoder encoder({.values = mode});
    std::string a, b;
    const std::array scale1{text("5.0"), null(), null(), null()};
    const std::array scale2{text("5.00"), null(), null(), null()};
    REQUIRE(encoder.encode_key(table, scale1, a));
    REQUIRE(encoder.encode_key(table, scale2, b));
    CHECK(a == b);
  }
}
