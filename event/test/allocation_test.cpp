// Checks the hot-path promise: encoding into warmed, reused buffers does not allocate (counted
// with tests/support's allocation counter).

#include <catch2/catch.hpp>

#include "modsync/testing/allocation_counter.hpp"

#include <array>
#include <string>

#include "modsync/event/envelope.hpp"
#include "modsync/event/event_headers.hpp"
#include "modsync/event/pg_types.hpp"

using modsync::testing::count_allocations;

namespace pg = modsync::event::pg;
using modsync::Lsn;
using modsync::Position;
using modsync::event::ColumnValue;
using modsync::event::EnvelopeEncoder;
using modsync::event::EventHeaders;
using modsync::event::Op;
using modsync::event::SourceInfo;
using modsync::event::TableSchema;

TEST_CASE("encoding a 10-column row into warmed buffers does not allocate", "[allocation]") {
  TableSchema table;
  table.module = "orders";
  table.database = "shop";
  table.schema = "public";
  table.table = "lines";
  table.columns = {{"id", pg::kInt8Oid, -1, true},         {"name", pg::kTextOid, -1, false},
                   {"price", pg::kNumericOid, -1, false},  {"ratio", pg::kFloat8Oid, -1, false},
                   {"paid", pg::kBoolOid, -1, false},      {"at", pg::kTimestampTzOid, -1, false},
                   {"tags", pg::kTextArrayOid, -1, false}, {"blob", pg::kByteaOid, -1, false},
                   {"doc", pg::kJsonbOid, -1, false},      {"big", pg::kTextOid, -1, false}};
  using Kind = ColumnValue::Kind;
  const std::array<ColumnValue, 10> row{{{Kind::kText, "9007199254740993"},
                                         {Kind::kText, "say \"hi\"\n\tthere"},
                                         {Kind::kText, "12.50"},
                                         {Kind::kText, "NaN"},
                                         {Kind::kText, "t"},
                                         {Kind::kText, "2024-01-02 03:04:05.123-08"},
                                         {Kind::kText, R"({a,"b \"c\"",NULL})"},
                                         {Kind::kText, R"(\x00ff10)"},
                                         {Kind::kText, R"({"k": [1, 2]})"},
                                         {Kind::kUnchanged, {}}}};
  SourceInfo source;
  source.position = Position{Lsn{0x16B374D848}, 12};
  source.xid = 771;
  source.commit_time_ms = 1'704'164'645'123;

  const EnvelopeEncoder encoder;
  EventHeaders headers;
  std::string key, value;
  const auto encode = [&] {
    encoder.encode_key(table, row, key);
    encoder.encode_change(table, Op::kUpdate, {}, row, source, 1'704'164'646'000, value);
    headers.fill_change(table, Op::kUpdate, source);
  };
  // The counter sees the allocations a cold buffer needs, so a zero below means something.
  CHECK(count_allocations(encode) > 0);
  const std::string first = value;

  ++source.position.index;
  CHECK(count_allocations(encode) == 0);
  CHECK(value.size() == first.size());
  CHECK(value != first);
}
