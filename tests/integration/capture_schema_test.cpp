// Schema versions across ALTER TABLE and restarts; the initial snapshot followed by streaming.

#include <catch2/catch.hpp>

#include <map>
#include <set>

#include "capture_harness.hpp"

using modsync::itest::CaptureHarness;
using modsync::itest::Event;
using modsync::itest::json_equals;
using modsync::itest::sort_by_event_id;

TEST_CASE("ALTER TABLE ADD COLUMN moves the schema version from 1 to 2, once",
          "[integration][schema]") {
  CaptureHarness h;
  h.sql("CREATE TABLE items (id int PRIMARY KEY, name text)");
  h.write_config("tables: [items]\nsnapshot: never");
  auto daemon = h.start_daemon();

  h.sql("INSERT INTO items VALUES (1, 'a')");
  h.sql("ALTER TABLE items ADD COLUMN qty int DEFAULT 7");
  h.sql("INSERT INTO items VALUES (2, 'b', 3)");
  auto events = h.consume("shop.public.items", 2);
  INFO(daemon.describe());
  REQUIRE(events.size() == 2);
  sort_by_event_id(events);
  CHECK(events[0].header("modsync.schema_version") == "1");
  CHECK(events[0].source()["schema_version"].GetInt() == 1);
  CHECK(events[1].header("modsync.schema_version") == "2");
  CHECK(events[1].source()["schema_version"].GetInt() == 2);
  CHECK(json_equals(events[1].value["after"], R"({"id":2,"name":"b","qty":3})"));

  // A restart re-reads the Relation message: the same columns are still version 2.
  CaptureHarness::stop_daemon(daemon);
  daemon = h.start_daemon();
  h.sql("INSERT INTO items VALUES (3, 'c', 4)");
  events = h.consume("shop.public.items", 3);
  INFO(daemon.describe());
  REQUIRE(events.size() == 3);
  sort_by_event_id(events);
  CHECK(events[2].header("modsync.schema_version") == "2");

  auto schemas = h.consume("modsync.schemas", 2);
  std::set<int> versions;
  for (const auto& s : schemas) {
    INFO(s.message.value);
    CHECK(s.key() == "public.items");
    CHECK(s.header("modsync.schema_version") == std::to_string(s.value["version"].GetInt()));
    versions.insert(s.value["version"].GetInt());
    if (s.value["version"].GetInt() == 2) {
      CHECK(s.value["columns"].Size() == 3);
      CHECK(s.value["columns"][2]["name"] == "qty");
      // The source's type names, for subscribers that create the table (docs/events.md).
      CHECK(s.value["columns"][0]["type"] == "integer");
      CHECK(s.value["columns"][1]["type"] == "text");
      CHECK(s.value["columns"][2]["type"] == "integer");
    }
  }
  CHECK(versions == std::set<int>{1, 2});
  CaptureHarness::stop_daemon(daemon);
}

TEST_CASE("rows present before the first start arrive as a chunked snapshot, then changes stream",
          "[integration][snapshot]") {
  CaptureHarness h;
  h.sql(
      "CREATE TABLE items (id int PRIMARY KEY, name text);"
      "INSERT INTO items SELECT g, 'n' || g FROM generate_series(1, 50) g");
  h.write_config("tables: [items]\nsnapshot: initial\nsnapshot_chunk_rows: 7");
  auto daemon = h.start_daemon();

  h.sql("INSERT INTO items SELECT g, 'new' FROM generate_series(51, 55) g");
  h.sql("UPDATE items SET name = 'upd' WHERE id IN (1, 25, 53)");
  h.sql("DELETE FROM items WHERE id IN (2, 54)");

  auto events = h.consume("shop.public.items", 62);
  INFO(daemon.describe());
  REQUIRE(events.size() == 62);
  modsync::itest::check_tombstones(events, modsync::itest::take_tombstones(events));
  REQUIRE(events.size() == 60);
  sort_by_event_id(events);

  std::set<std::string> ids;
  std::map<std::string, int> reads;
  for (const auto& e : events) ids.insert(e.event_id());
  CHECK(ids.size() == events.size());
  for (size_t i = 0; i < 50; ++i) {
    const auto& e = events[i];
    INFO(e.message.value);
    REQUIRE(e.op() == "r");
    CHECK(e.event_id().size() == 42);
    CHECK(e.event_id().substr(16, 2) == "-S");
    CHECK(e.value["before"].IsNull());
    CHECK(e.source()["txId"].IsNull());
    if (i < 49) CHECK(e.source_str("snapshot") == "true");
    ++reads[e.key()];
  }
  CHECK(reads.size() == 50);
  for (int id = 1; id <= 50; ++id) CHECK(reads.count("{\"id\":" + std::to_string(id) + "}") == 1);

  std::vector<std::string> ops;
  for (size_t i = 50; i < events.size(); ++i) {
    CHECK(events[i].source_str("snapshot") == "false");
    ops.push_back(events[i].op());
  }
  CHECK(ops == std::vector<std::string>{"c", "c", "c", "c", "c", "u", "u", "u", "d", "d"});
  CaptureHarness::stop_daemon(daemon);
}

// Regression: the last snapshot row used to say "true" like every other row. 10 rows in chunks
// of 5 is the hard case: the last chunk is full, so only a look-ahead row tells it is the last.
TEST_CASE("the last snapshot row is marked snapshot \"last\"", "[integration][snapshot]") {
  CaptureHarness h;
  h.sql(
      "CREATE TABLE items (id int PRIMARY KEY);"
      "INSERT INTO items SELECT g FROM generate_series(1, 10) g");
  h.write_config("tables: [items]\nsnapshot: initial\nsnapshot_chunk_rows: 5");
  auto daemon = h.start_daemon();
  auto events = h.consume("shop.public.items", 10);
  REQUIRE(events.size() == 10);
  sort_by_event_id(events);
  INFO(events.back().message.value);
  CHECK(events.back().source_str("snapshot") == "last");
  CaptureHarness::stop_daemon(daemon);
}
