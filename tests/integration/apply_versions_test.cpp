// Schema versions on the apply side: a column renamed on the source (amount_cents in version
// 1, total in version 2) and a projection that maps total.

#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "apply_harness.hpp"
#include "modsync/testing/eventually.hpp"

using namespace std::chrono_literals;
using Catch::Contains;
using modsync::itest::ApplyHarness;
using modsync::itest::header;

namespace {

const std::vector<std::string> kStreaming = {"streaming from slot", "applying into"};

std::string projection(const std::string& extra) {
  return "- from: shop.public.orders\n"
         "  to: totals\n"
         "  columns: [id, total]\n"
         "  where: \"total > 100\"\n" +
         extra;
}

void prepare(ApplyHarness& h) {
  h.src("CREATE TABLE orders (id int PRIMARY KEY, amount_cents int NOT NULL, status text)");
  h.sub(
      "CREATE TABLE totals (id int PRIMARY KEY, total int, _modsync_lsn pg_lsn, "
      "_modsync_seq integer)");
}

/// Ten version-1 inserts, the rename, then five version-2 inserts and three version-2 updates
/// of version-1 rows: 18 events.
void workload(ApplyHarness& h) {
  h.src("INSERT INTO orders SELECT g, g * 50, 'new' FROM generate_series(1, 10) g");
  h.src("ALTER TABLE orders RENAME COLUMN amount_cents TO total");
  h.src("INSERT INTO orders SELECT g, g * 50, 'new' FROM generate_series(11, 15) g");
  h.src("UPDATE orders SET total = total + 1000 WHERE id <= 3");
}

}  // namespace

TEST_CASE("a versions rule renames the old column: old and new events apply",
          "[integration][apply][versions]") {
  ApplyHarness h;
  prepare(h);
  const auto config =
      h.write_config("itest", "tables: [orders]\nsnapshot: never",
                     projection("  versions: { 1: { rename: { amount_cents: total } } }"));
  auto daemon = h.start(config, kStreaming);
  workload(h);
  const bool same = h.converges("SELECT id, total FROM orders WHERE total > 100 ORDER BY id",
                                "SELECT id, total FROM totals ORDER BY id");
  INFO(h.last_difference() << daemon.describe());
  CHECK(same);
  ApplyHarness::stop(daemon);
}

TEST_CASE("without a rule, unknown_version dead_letter sends version-1 events to the DLQ",
          "[integration][apply][versions][dlq]") {
  ApplyHarness h;
  prepare(h);
  const auto config = h.write_config("itest", "tables: [orders]\nsnapshot: never",
                                     projection("  unknown_version: dead_letter"));
  auto daemon = h.start(config, kStreaming);
  workload(h);
  // Only rows a version-2 event wrote: the updated ones and the new ones.
  const bool same = h.converges(
      "SELECT id, total FROM orders WHERE total > 100 AND (id <= 3 OR id > 10) ORDER BY id",
      "SELECT id, total FROM totals ORDER BY id");
  INFO(h.last_difference() << daemon.describe());
  CHECK(same);
  CHECK(h.consumed("shop.public.orders", 18));

  auto letters = h.dead_letters("itest", 10);
  // Give a duplicate, if any, time to show up.
  std::this_thread::sleep_for(500ms);
  letters = h.dead_letters("itest", 11, 2s);
  REQUIRE(letters.size() == 10);
  std::set<std::string> ids;
  for (const auto& m : letters) {
    INFO(m.value);
    CHECK(header(m, "modsync.schema_version") == "1");
    CHECK_THAT(header(m, "modsync.dlq.error").value_or(""),
               Contains("schema version 1 has no column total"));
    CHECK(header(m, "modsync.dlq.projection") == "itest/public.totals");
    CHECK(header(m, "modsync.dlq.topic") == "shop.public.orders");
    CHECK(header(m, "modsync.dlq.partition").has_value());
    CHECK(header(m, "modsync.dlq.offset").has_value());
    CHECK_THAT(m.value, Contains("\"amount_cents\""));
    ids.insert(m.key.value_or(""));
  }
  CHECK(ids.size() == 10);
  ApplyHarness::stop(daemon);
}

TEST_CASE("without a rule, unknown_version pause stops the projection until the config is fixed",
          "[integration][apply][versions]") {
  ApplyHarness h;
  prepare(h);
  auto config = h.write_config("itest", "tables: [orders]\nsnapshot: never", projection(""));
  auto daemon = h.start(config, kStreaming);
  workload(h);
  const bool paused = daemon.wait_for_output("paused", 20s);
  INFO(daemon.describe());
  REQUIRE(paused);
  const std::string err = daemon.stderr_text();
  CHECK_THAT(err, Contains("schema version 1 has no column total"));
  CHECK_THAT(err, Contains("versions"));
  // Nothing of version 1 was guessed at, and the rows stay out while it waits.
  std::this_thread::sleep_for(1500ms);
  CHECK(h.sub_value("SELECT count(*) FROM totals WHERE id BETWEEN 4 AND 10") == "0");
  CHECK(daemon.running());
  ApplyHarness::stop(daemon);

  // The fix: a rule for version 1, and a restart. The events waited on Kafka.
  config = h.write_config("itest", "tables: [orders]\nsnapshot: never",
                          projection("  versions: { 1: { rename: { amount_cents: total } } }"));
  daemon = h.start(config, kStreaming);
  const bool same = h.converges("SELECT id, total FROM orders WHERE total > 100 ORDER BY id",
                                "SELECT id, total FROM totals ORDER BY id");
  INFO(h.last_difference() << daemon.describe());
  CHECK(same);
  ApplyHarness::stop(daemon);
}
