#include <catch2/catch.hpp>

#include <string>

#include "modsync/event/event_headers.hpp"

using modsync::Lsn;
using modsync::Position;
using modsync::event::EventHeaders;
using modsync::event::Op;
using modsync::event::SnapshotMarker;
using modsync::event::SourceInfo;
using modsync::event::TableSchema;

namespace {

TableSchema table() {
  TableSchema t;
  t.module = "orders";
  t.schema = "public";
  t.table = "lines";
  t.version = 12;
  return t;
}

SourceInfo source() {
  SourceInfo s;
  s.position = Position{Lsn{0x16B374D848}, 12};
  s.commit_time_ms = 1'704'164'645'123;  // 2024-01-02T03:04:05.123Z
  return s;
}

std::string value(const EventHeaders& h, std::string_view name) {
  const std::string* v = h.find(name);
  INFO(name);
  REQUIRE(v != nullptr);
  return *v;
}

}  // namespace

TEST_CASE("change headers carry modsync's fields and CloudEvents binary mode", "[headers]") {
  EventHeaders h;
  h.fill_change(table(), Op::kUpdate, source());
  CHECK(h.headers().size() == 7);
  CHECK(value(h, "modsync.schema_version") == "12");
  CHECK(h.find("modsync.event_id") == nullptr);  // ce_id is the event id
  CHECK(value(h, "ce_id") == "00000016B374D8480000000C");
  CHECK(value(h, "ce_source") == "modsync/orders/public.lines");
  CHECK(value(h, "ce_type") == "modsync.change.u");
  CHECK(value(h, "ce_specversion") == "1.0");
  CHECK(value(h, "ce_time") == "2024-01-02T03:04:05.123Z");
  CHECK(value(h, "content-type") == "application/json");
}

TEST_CASE("refilling overwrites every value", "[headers]") {
  EventHeaders h;
  h.fill_change(table(), Op::kUpdate, source());
  TableSchema other = table();
  other.table = "x";
  other.version = 1;
  SourceInfo s = source();
  s.position.index = 13;
  s.commit_time_ms = 0;
  h.fill_change(other, Op::kDelete, s);
  CHECK(value(h, "modsync.schema_version") == "1");
  CHECK(value(h, "ce_id") == "00000016B374D8480000000D");
  CHECK(value(h, "ce_source") == "modsync/orders/public.x");
  CHECK(value(h, "ce_type") == "modsync.change.d");
  CHECK(value(h, "ce_time") == "1970-01-01T00:00:00.000Z");
}

TEST_CASE("snapshot rows carry their snapshot event id", "[headers]") {
  EventHeaders h;
  SourceInfo s = source();
  s.snapshot = SnapshotMarker::kTrue;
  s.snapshot_table = 2;
  s.snapshot_row = 5;
  h.fill_change(table(), Op::kRead, s);
  CHECK(value(h, "ce_id") == "00000016B374D848-S000000020000000000000005");
  CHECK(value(h, "ce_type") == "modsync.change.r");
}

TEST_CASE("message headers have no schema version", "[headers]") {
  EventHeaders h;
  h.fill_change(table(), Op::kCreate, source());
  h.fill_message("orders", source());
  CHECK(h.headers().size() == 6);
  CHECK(h.find("modsync.schema_version") == nullptr);
  CHECK(value(h, "ce_type") == "modsync.message");
  CHECK(value(h, "ce_source") == "modsync/orders");
}

TEST_CASE("ce_time is RFC 3339 UTC with milliseconds across calendar edges", "[headers]") {
  EventHeaders h;
  SourceInfo s = source();
  const std::pair<int64_t, const char*> cases[] = {
      {951'782'400'000, "2000-02-29T00:00:00.000Z"},
      {4'107'542'399'999, "2100-02-28T23:59:59.999Z"},
      {253'402'300'799'000, "9999-12-31T23:59:59.000Z"},
      {-1, "1969-12-31T23:59:59.999Z"},
      {1'704'067'199'050, "2023-12-31T23:59:59.050Z"},
  };
  for (const auto& [ms, expected] : cases) {
    s.commit_time_ms = ms;
    h.fill_change(table(), Op::kCreate, s);
    CHECK(value(h, "ce_time") == expected);
  }
}
