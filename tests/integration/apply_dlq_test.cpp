// Poison events: values the target cannot take, and records that are not change events, go to
// the dead-letter topic once each; every other event is applied and the daemon keeps going.

#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "apply_harness.hpp"
#include "modsync/testing/child_process.hpp"
#include "modsync/testing/eventually.hpp"

using namespace std::chrono_literals;
using Catch::Contains;
using modsync::itest::ApplyHarness;
using modsync::itest::header;

namespace {

/// Rows the target (qty integer CHECK (qty >= 0)) can hold: the rest are poison. `except`: rows
/// whose poison update left an older value in the projection, compared separately.
std::string good(const std::string& except) {
  return fmt::format(
      "SELECT id, qty::text FROM items WHERE qty >= 0 AND qty <= 2147483647 AND id NOT IN ({}) "
      "ORDER BY id",
      except);
}
std::string projected(const std::string& except) {
  return fmt::format("SELECT id, qty::text FROM items WHERE id NOT IN ({}) ORDER BY id", except);
}

}  // namespace

TEST_CASE("bad values and non-events go to the dead-letter topic once each and the rest apply",
          "[integration][apply][dlq]") {
  ApplyHarness h;
  // numeric into integer passes the start-up type check (both numbers); values beyond int's
  // range are the poison.
  h.src("CREATE TABLE items (id int PRIMARY KEY, qty numeric NOT NULL)");
  h.sub(
      "CREATE TABLE items (id int PRIMARY KEY, qty integer CHECK (qty >= 0), "
      "_modsync_lsn pg_lsn, _modsync_seq integer)");
  // Capture alone first, so that the sink finds all of these in one batch: the poison has to
  // be found by splitting it.
  auto capture = h.start(h.write_config("cap", "tables: [items]\nsnapshot: never", ""),
                         {"streaming from slot"});
  h.src("INSERT INTO items SELECT g, g FROM generate_series(1, 200) g");
  h.src("UPDATE items SET qty = 10000000000 WHERE id = 17");  // beyond integer: SQLSTATE 22003
  h.src("UPDATE items SET qty = '-5' WHERE id = 120");   // violates the CHECK: 23514
  const auto on_kafka =
      modsync::testing::kcat_consume(h.broker().bootstrap(), "shop.public.items", 202);
  INFO(capture.describe());
  REQUIRE(on_kafka.size() == 202);
  // A record that is not a change event at all.
  const auto produced = modsync::testing::run_command(
      {"sh", "-c",
       fmt::format("printf 'not json' | kcat -P -b {} -t shop.public.items -k garbage",
                   h.broker().bootstrap())});
  REQUIRE(produced.status == 0);

  auto sink = h.start(h.write_config("app", "", "- from: shop.public.items\n  to: items"),
                      {"applying into"});
  CHECK(h.consumed("shop.public.items", 203));
  bool same = h.converges(good("17, 120"), projected("17, 120"));
  INFO(h.last_difference() << sink.describe());
  CHECK(same);

  auto letters = h.dead_letters("app", 3);
  std::this_thread::sleep_for(500ms);
  letters = h.dead_letters("app", 4, 2s);
  std::map<std::string, std::string> error_by_key;
  for (const auto& m : letters) {
    INFO(m.value);
    CHECK(header(m, "modsync.dlq.projection") == "app/public.items");
    CHECK(header(m, "modsync.dlq.topic") == "shop.public.items");
    CHECK(header(m, "modsync.dlq.offset").has_value());
    error_by_key[m.key.value_or("<null>")] += header(m, "modsync.dlq.error").value_or("<none>");
  }
  INFO(sink.describe());
  CHECK(letters.size() == 3);
  REQUIRE(error_by_key.size() == 3);
  CHECK_THAT(error_by_key["{\"id\":17}"], Contains("out of range"));
  CHECK_THAT(error_by_key["{\"id\":120}"], Contains("check constraint"));
  CHECK_THAT(error_by_key["garbage"], Contains("not a JSON object"));
  // The bad values left the rows as they were before.
  CHECK(h.sub_value("SELECT qty FROM items WHERE id = 17") == "17");
  CHECK(h.sub_value("SELECT qty FROM items WHERE id = 120") == "120");

  // The daemon keeps going: later changes, poison among them, are applied as they come.
  h.src("INSERT INTO items SELECT g, g FROM generate_series(201, 230) g");
  h.src("INSERT INTO items VALUES (231, 99999999999)");
  h.src("UPDATE items SET qty = 7 WHERE id = 17");
  same = h.converges(good("120"), projected("120"));
  INFO(h.last_difference());
  CHECK(same);
  CHECK(h.dead_letters("app", 4).size() == 4);
  ApplyHarness::stop(sink);
  ApplyHarness::stop(capture);
}

// Regression (issue 8): valid JSON is never a poison event. Events written before json/jsonb
// became strings embed the value, and simdjson cannot read an integer beyond 64 bits in it.
TEST_CASE("an old event embedding a json integer beyond 64 bits is applied, not dead-lettered",
          "[integration][apply][dlq][types]") {
  ApplyHarness h;
  h.src("CREATE TABLE docs (id int PRIMARY KEY, doc jsonb)");
  h.sub("CREATE TABLE docs (id int PRIMARY KEY, doc jsonb, _modsync_lsn pg_lsn, _modsync_seq int)");
  auto daemon = h.start(h.write_config("app", "tables: [docs]\nsnapshot: never",
                                       "- from: shop.public.docs\n  to: docs"),
                        {"streaming from slot", "applying into"});
  h.src("INSERT INTO docs VALUES (1, '{\"n\": 1}')");
  REQUIRE(h.consumed("shop.public.docs", 1));
  const std::string old_event =
      R"({"before":null,"after":{"id":2,"doc":{"big": [123456789012345678901234567890, 1.5]}},)"
      R"("source":{"ts_ms":0,"position":"0/1#0"},"op":"c","ts_ms":0})";
  const auto produced = modsync::testing::run_command(
      {"sh", "-c",
       fmt::format("printf '%s' '{}' | kcat -P -b {} -t shop.public.docs -k '{{\"id\":2}}'",
                   old_event, h.broker().bootstrap())});
  REQUIRE(produced.status == 0);
  REQUIRE(h.consumed("shop.public.docs", 2));
  INFO(daemon.describe());
  CHECK(h.sub_value("SELECT doc::text FROM docs WHERE id = 2") ==
        R"({"big": [123456789012345678901234567890, 1.5]})");
  CHECK(h.dead_letters("app", 1, 2s).empty());
  ApplyHarness::stop(daemon);
}
