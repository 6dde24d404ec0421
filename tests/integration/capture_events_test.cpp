// Change events of single statements and transactions, end to end: PostgreSQL → modsync → dev
// broker → kcat.

#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <string>

#include <fmt/format.h>

#include "capture_harness.hpp"

using namespace std::chrono_literals;
using modsync::itest::CaptureHarness;
using modsync::itest::Event;
using modsync::itest::json_equals;
using modsync::itest::parse_lsn;
using modsync::itest::sort_by_event_id;
using modsync::itest::to_json;

namespace {

/// "16/B374D848#3" → {0x16B374D848, 3}.
std::pair<uint64_t, uint32_t> split_position(const std::string& position) {
  const auto hash = position.find('#');
  REQUIRE(hash != std::string::npos);
  return {parse_lsn(position.substr(0, hash)),
          static_cast<uint32_t>(std::stoul(position.substr(hash + 1)))};
}

/// Checks the fields every streamed change event carries, against its own position.
void check_common(const Event& e, const std::string& table) {
  INFO(e.message.value);
  const auto [lsn, index] = split_position(e.position());
  CHECK(e.source()["lsn"].GetUint64() == lsn);
  CHECK(e.source_str("snapshot") == "false");
  CHECK(e.source_str("connector") == "modsync");
  CHECK(e.source_str("module") == "shop");
  CHECK(e.source_str("db") == "shop");
  CHECK(e.source_str("schema") == "public");
  CHECK(e.source_str("table") == table);
  CHECK(e.source()["txId"].IsUint64());
  CHECK(e.source()["schema_version"].GetInt() == 1);
  CHECK(e.value["ts_ms"].IsInt64());
  CHECK(e.event_id() == fmt::format("{:016X}{:08X}", lsn, index));
  CHECK(e.header("modsync.event_id").empty());  // ce_id is the event id (docs/events.md)
  CHECK(e.header("ce_specversion") == "1.0");
  CHECK(e.header("ce_type") == "modsync.change." + e.op());
  CHECK(e.header("ce_source") == "modsync/shop/public." + table);
  CHECK(e.header("content-type") == "application/json");
  CHECK(e.header("modsync.schema_version") == "1");
  CHECK(e.header("ce_time").size() == 24);
}

}  // namespace

TEST_CASE("insert, update, delete, key change and truncate become c/u/d/t events",
          "[integration][capture]") {
  CaptureHarness h;
  h.sql("CREATE TABLE items (id int PRIMARY KEY, name text, qty int)");
  h.write_config("tables: [items]\nsnapshot: never");
  auto daemon = h.start_daemon();

  const uint64_t lsn_before = parse_lsn(h.value("SELECT pg_current_wal_lsn()"));
  const std::string xid_insert =
      h.value("INSERT INTO items VALUES (1, 'a', 1) RETURNING txid_current()::text");
  h.sql("INSERT INTO items VALUES (2, 'b', 2)");
  h.sql("UPDATE items SET qty = 5 WHERE id = 1");
  h.sql("DELETE FROM items WHERE id = 2");
  h.sql("UPDATE items SET id = 10, name = 'z' WHERE id = 1");
  h.sql("TRUNCATE items");
  const uint64_t lsn_after = parse_lsn(h.value("SELECT pg_current_wal_lsn()"));

  auto events = h.consume("shop.public.items", 9);
  INFO(daemon.describe());
  REQUIRE(events.size() == 9);
  const auto tombstones = modsync::itest::take_tombstones(events);
  REQUIRE(events.size() == 7);
  modsync::itest::check_tombstones(events, tombstones);
  sort_by_event_id(events);
  std::vector<std::string> ops;
  for (const auto& e : events) ops.push_back(e.op());
  CHECK(ops == std::vector<std::string>{"c", "c", "u", "d", "d", "c", "t"});
  for (const auto& e : events) {
    check_common(e, "items");
    const uint64_t lsn = e.source()["lsn"].GetUint64();
    CHECK(lsn > lsn_before);
    CHECK(lsn <= lsn_after);
  }

  const auto& c1 = events[0];
  CHECK(c1.key() == R"({"id":1})");
  CHECK(c1.value["before"].IsNull());
  CHECK(json_equals(c1.value["after"], R"({"id":1,"name":"a","qty":1})"));
  CHECK(std::to_string(c1.source()["txId"].GetUint64()) == xid_insert);
  CHECK(c1.position().ends_with("#0"));
  CHECK_FALSE(c1.value.HasMember("unchanged"));

  // Default replica identity: an update that keeps the key logs no old image.
  const auto& u1 = events[2];
  CHECK(u1.key() == R"({"id":1})");
  CHECK(u1.value["before"].IsNull());
  CHECK(json_equals(u1.value["after"], R"({"id":1,"name":"a","qty":5})"));

  const auto& d2 = events[3];
  CHECK(d2.key() == R"({"id":2})");
  CHECK(json_equals(d2.value["before"], R"({"id":2,"name":null,"qty":null})"));
  CHECK(d2.value["after"].IsNull());

  // A key change: delete of the old key, create of the new one, in one transaction.
  const auto& d1 = events[4];
  const auto& c10 = events[5];
  CHECK(d1.key() == R"({"id":1})");
  CHECK(json_equals(d1.value["before"], R"({"id":1,"name":null,"qty":null})"));
  CHECK(d1.value["after"].IsNull());
  CHECK(c10.key() == R"({"id":10})");
  CHECK(c10.value["before"].IsNull());
  CHECK(json_equals(c10.value["after"], R"({"id":10,"name":"z","qty":5})"));
  CHECK(split_position(d1.position()).first == split_position(c10.position()).first);
  CHECK(split_position(d1.position()).second == 0);
  CHECK(split_position(c10.position()).second == 1);
  CHECK(d1.source()["txId"] == c10.source()["txId"]);

  const auto& t = events[6];
  CHECK_FALSE(t.message.key);
  CHECK(t.value["before"].IsNull());
  CHECK(t.value["after"].IsNull());

  // Every key's events sit on one partition, in commit order.
  std::map<std::string, std::vector<const Event*>> by_key;
  for (const auto& e : events)
    if (e.message.key) by_key[*e.message.key].push_back(&e);
  for (const auto& [key, list] : by_key) {
    INFO(key);
    for (size_t i = 1; i < list.size(); ++i) {
      CHECK(list[i]->message.partition == list[0]->message.partition);
      CHECK(list[i]->message.offset > list[i - 1]->message.offset);
    }
  }
  CHECK(by_key[R"({"id":1})"].size() == 3);
  CaptureHarness::stop_daemon(daemon);
}

TEST_CASE("a multi-row transaction shares its commit LSN and has BEGIN/END metadata",
          "[integration][capture]") {
  CaptureHarness h;
  h.sql("CREATE TABLE items (id int PRIMARY KEY, name text, qty int)");
  h.write_config("tables: [items]\nsnapshot: never\ntransaction_topic: \"{prefix}.transactions\"");
  auto daemon = h.start_daemon();

  h.sql("INSERT INTO items VALUES (100, 'before', 0)");
  h.sql(
      "BEGIN;"
      "INSERT INTO items SELECT g, 'n' || g, g FROM generate_series(1, 5) g;"
      "UPDATE items SET qty = 50 WHERE id = 5;"
      "DELETE FROM items WHERE id = 100;"
      "COMMIT");
  auto events = h.consume("shop.public.items", 9);
  INFO(daemon.describe());
  REQUIRE(events.size() == 9);
  modsync::itest::check_tombstones(events, modsync::itest::take_tombstones(events));
  REQUIRE(events.size() == 8);
  sort_by_event_id(events);

  const auto commit_lsn = events[1].source()["lsn"].GetUint64();
  std::set<std::string> ids;
  for (size_t i = 1; i < events.size(); ++i) {
    const auto& e = events[i];
    INFO(e.message.value);
    check_common(e, "items");
    CHECK(e.source()["lsn"].GetUint64() == commit_lsn);
    CHECK(split_position(e.position()).second == i - 1);
    CHECK(e.source()["txId"] == events[1].source()["txId"]);
    ids.insert(e.event_id());
  }
  CHECK(ids.size() == 7);
  CHECK(events[0].source()["lsn"].GetUint64() < commit_lsn);
  CHECK(events[6].op() == "u");
  CHECK(events[7].op() == "d");

  // Metadata of both transactions; the multi-row one counts its 7 events.
  auto tx = h.consume("modsync.transactions", 4);
  REQUIRE(tx.size() == 4);
  const std::string tx_id = fmt::format("{}:{:X}/{:X}", events[1].source()["txId"].GetUint64(),
                                        commit_lsn >> 32, commit_lsn & 0xffffffffu);
  std::vector<const Event*> mine;
  for (const auto& e : tx)
    if (e.str("id") == tx_id) mine.push_back(&e);
  INFO(tx_id);
  REQUIRE(mine.size() == 2);
  CHECK(mine[0]->str("status") == "BEGIN");
  CHECK(mine[1]->str("status") == "END");
  CHECK(mine[1]->value["event_count"].GetInt() == 7);
  CHECK(mine[0]->message.partition == mine[1]->message.partition);
  CaptureHarness::stop_daemon(daemon);
}

TEST_CASE("an unchanged TOASTed column is left out of after and listed in unchanged",
          "[integration][capture]") {
  CaptureHarness h;
  h.sql("CREATE TABLE docs (id int PRIMARY KEY, body text, n int)");
  h.write_config("tables: [docs]\nsnapshot: never");
  auto daemon = h.start_daemon();

  // md5 hex of distinct numbers barely compresses: 32 kB stays out of line (TOASTed).
  h.sql(
      "INSERT INTO docs SELECT 1, string_agg(md5(g::text), '' ORDER BY g), 1 "
      "FROM generate_series(1, 1000) g");
  CHECK(h.value("SELECT pg_column_size(body) > 8192 FROM docs") == "t");
  h.sql("UPDATE docs SET n = 2 WHERE id = 1");
  h.sql("UPDATE docs SET body = 'short', n = 3 WHERE id = 1");

  auto events = h.consume("shop.public.docs", 3);
  INFO(daemon.describe());
  REQUIRE(events.size() == 3);
  sort_by_event_id(events);
  CHECK(events[0].value["after"]["body"].GetStringLength() == 32000);
  CHECK_FALSE(events[0].value.HasMember("unchanged"));

  const auto& u = events[1];
  INFO(u.message.value);
  CHECK(u.op() == "u");
  CHECK_FALSE(u.value["after"].HasMember("body"));
  CHECK(json_equals(u.value["after"], R"({"id":1,"n":2})"));
  CHECK(json_equals(u.value["unchanged"], R"(["body"])"));

  CHECK(json_equals(events[2].value["after"], R"({"id":1,"body":"short","n":3})"));
  CHECK_FALSE(events[2].value.HasMember("unchanged"));
  CaptureHarness::stop_daemon(daemon);
}

TEST_CASE("REPLICA IDENTITY FULL gives the old row as before and every value in after",
          "[integration][capture]") {
  CaptureHarness h;
  h.sql(
      "CREATE TABLE docs (tenant text, id int, body text, n int, PRIMARY KEY (tenant, id));"
      "ALTER TABLE docs REPLICA IDENTITY FULL");
  h.write_config("tables: [docs]\nsnapshot: never");
  auto daemon = h.start_daemon();

  h.sql(
      "INSERT INTO docs SELECT 'acme', 1, string_agg(md5(g::text), '' ORDER BY g), 1 "
      "FROM generate_series(1, 1000) g");
  h.sql("UPDATE docs SET n = 2");
  h.sql("UPDATE docs SET id = 2");
  h.sql("DELETE FROM docs");

  auto events = h.consume("shop.public.docs", 7);
  INFO(daemon.describe());
  REQUIRE(events.size() == 7);
  modsync::itest::check_tombstones(events, modsync::itest::take_tombstones(events));
  REQUIRE(events.size() == 5);
  sort_by_event_id(events);
  std::vector<std::string> ops;
  for (const auto& e : events) ops.push_back(e.op());
  CHECK(ops == std::vector<std::string>{"c", "u", "d", "c", "d"});

  const auto& u = events[1];
  INFO(u.message.value.substr(0, 300));
  CHECK(u.key() == R"({"tenant":"acme","id":1})");
  CHECK(u.value["before"]["n"].GetInt() == 1);
  CHECK(u.value["before"]["body"].GetStringLength() == 32000);
  // docs/events.md: with REPLICA IDENTITY FULL "the new row carries the value".
  CHECK(u.value["after"]["n"].GetInt() == 2);
  REQUIRE(u.value["after"].HasMember("body"));
  CHECK(u.value["after"]["body"] == u.value["before"]["body"]);
  CHECK_FALSE(u.value.HasMember("unchanged"));

  CHECK(events[2].key() == R"({"tenant":"acme","id":1})");
  CHECK(events[3].key() == R"({"tenant":"acme","id":2})");
  CHECK(events[3].value["after"]["body"].GetStringLength() == 32000);
  CHECK(events[4].key() == R"({"tenant":"acme","id":2})");
  CHECK(events[4].value["before"]["body"].GetStringLength() == 32000);
  CaptureHarness::stop_daemon(daemon);
}

TEST_CASE("tombstones_on_delete: false sends no tombstone after a delete",
          "[integration][capture]") {
  CaptureHarness h;
  h.sql("CREATE TABLE items (id int PRIMARY KEY, name text)");
  h.write_config("tables: [items]\nsnapshot: never\ntombstones_on_delete: false");
  auto daemon = h.start_daemon();
  h.sql("INSERT INTO items VALUES (1, 'a')");
  h.sql("DELETE FROM items WHERE id = 1");
  h.sql("INSERT INTO items VALUES (2, 'b')");
  // The insert after the delete is the marker that everything before it arrived.
  auto events = h.consume("shop.public.items", 4, 5s);
  INFO(daemon.describe());
  REQUIRE(events.size() == 3);
  CHECK(modsync::itest::take_tombstones(events).empty());
  CaptureHarness::stop_daemon(daemon);
}
