// The apply rules end to end: filters, renames, ops, deletes, snapshot rows, TOAST, truncate.
// Each test compares the whole subscriber table with what the source and the projection imply.

#include <catch2/catch.hpp>

#include <string>

#include <fmt/format.h>

#include "apply_harness.hpp"
#include "modsync/testing/eventually.hpp"

using namespace std::chrono_literals;
using modsync::itest::ApplyHarness;

namespace {

constexpr const char* kOrders =
    "CREATE TABLE orders (id int PRIMARY KEY, status text NOT NULL, total numeric(12,2), "
    "note text)";
const std::vector<std::string> kStreaming = {"streaming from slot", "applying into"};

}  // namespace

TEST_CASE("rows move in and out of the filter and columns are renamed", "[integration][apply]") {
  ApplyHarness h;
  h.src(kOrders);
  h.sub(
      "CREATE TABLE paid (order_id int PRIMARY KEY, amount numeric(12,2), status text, "
      "_modsync_lsn pg_lsn, _modsync_seq integer)");
  const auto config = h.write_config("itest", "tables: [orders]\nsnapshot: never",
                                     "- from: shop.public.orders\n"
                                     "  to: paid\n"
                                     "  columns: { id: order_id, total: amount, status: status }\n"
                                     "  where: \"status = 'paid' AND total > 0\"");
  auto daemon = h.start(config, kStreaming);

  h.src("INSERT INTO orders SELECT g, 'new', g * 1.5, 'n' FROM generate_series(1, 40) g");
  h.src("UPDATE orders SET status = 'paid' WHERE id <= 30");                   // 1..30 move in
  h.src("UPDATE orders SET status = 'cancelled' WHERE id BETWEEN 21 AND 25");  // move out
  h.src("UPDATE orders SET total = 0 WHERE id = 3");                           // out by total
  h.src("UPDATE orders SET total = total + 100 WHERE id BETWEEN 5 AND 8");     // stay, new value
  h.src("UPDATE orders SET note = 'only the note' WHERE id = 9");              // stays as it was
  h.src("DELETE FROM orders WHERE id IN (10, 35)");                            // in, never in
  h.src("INSERT INTO orders VALUES (50, 'paid', 7.25, 'x'), (51, 'paid', -1, 'x')");
  // Back in after being out.
  h.src("UPDATE orders SET status = 'paid' WHERE id = 21");

  const bool same = h.converges(
      "SELECT id, total, status FROM orders WHERE status = 'paid' AND total > 0 ORDER BY id",
      "SELECT order_id, amount, status FROM paid ORDER BY order_id");
  INFO(h.last_difference() << daemon.describe());
  CHECK(same);
  ApplyHarness::stop(daemon);
}

TEST_CASE("ops [c, r]: updates and deletes are not applied", "[integration][apply]") {
  ApplyHarness h;
  h.src("CREATE TABLE items (id int PRIMARY KEY, qty int NOT NULL)");
  h.src("INSERT INTO items SELECT g, g FROM generate_series(1, 10) g");  // snapshot: r
  h.sub(
      "CREATE TABLE items (id int PRIMARY KEY, qty int, _modsync_lsn pg_lsn, "
      "_modsync_seq integer)");
  const auto config = h.write_config("itest", "tables: [items]",
                                     "- from: shop.public.items\n"
                                     "  to: items\n"
                                     "  ops: [c, r]");
  auto daemon = h.start(config, kStreaming);
  h.src("INSERT INTO items SELECT g, g FROM generate_series(11, 20) g");  // c
  // What the projection must keep: every row as created.
  h.src("CREATE TABLE created AS SELECT * FROM items");
  h.src("UPDATE items SET qty = qty * 100 WHERE id % 2 = 0");
  h.src("DELETE FROM items WHERE id % 3 = 0");
  h.src("INSERT INTO created VALUES (21, 21); INSERT INTO items VALUES (21, 21)");

  // 10 snapshot rows + 11 inserts + 10 updates + 6 deletes and their 6 tombstones.
  const bool consumed = h.consumed("shop.public.items", 43);
  INFO(daemon.describe() << "consumed " << h.consumed_now("shop.public.items"));
  REQUIRE(consumed);
  const bool same = h.converges("SELECT id, qty FROM created ORDER BY id",
                                "SELECT id, qty FROM items ORDER BY id");
  INFO(h.last_difference());
  CHECK(same);
  ApplyHarness::stop(daemon);
}

TEST_CASE("on_delete ignore keeps deleted rows with their last values", "[integration][apply]") {
  ApplyHarness h;
  h.src(kOrders);
  h.sub(
      "CREATE TABLE orders (id int PRIMARY KEY, status text, _modsync_lsn pg_lsn, "
      "_modsync_seq integer)");
  const auto config = h.write_config("itest", "tables: [orders]\nsnapshot: never",
                                     "- from: shop.public.orders\n"
                                     "  to: orders\n"
                                     "  columns: [id, status]\n"
                                     "  on_delete: ignore");
  auto daemon = h.start(config, kStreaming);
  h.src("INSERT INTO orders SELECT g, 'new', g, NULL FROM generate_series(1, 10) g");
  h.src("UPDATE orders SET status = 'paid' WHERE id <= 4");
  h.src("CREATE TABLE kept AS SELECT * FROM orders");
  h.src("DELETE FROM orders WHERE id IN (2, 3, 9)");
  h.src("UPDATE orders SET status = 'shipped' WHERE id = 1");
  h.src("UPDATE kept SET status = 'shipped' WHERE id = 1");

  const bool same = h.converges("SELECT id, status FROM kept ORDER BY id",
                                "SELECT id, status FROM orders ORDER BY id");
  INFO(h.last_difference() << daemon.describe());
  CHECK(same);
  // The deletes were consumed (not merely not yet seen): 10 + 4 + 3 (+ 3 tombstones) + 1.
  CHECK(h.consumed("shop.public.orders", 21));
  CHECK(h.sub_value("SELECT count(*) FROM orders") == "10");
  ApplyHarness::stop(daemon);
}

TEST_CASE("snapshot rows land through op r, then streaming continues", "[integration][apply]") {
  ApplyHarness h;
  h.src(kOrders);
  h.src(
      "INSERT INTO orders SELECT g, CASE WHEN g % 2 = 0 THEN 'paid' ELSE 'new' END, g, 'x' "
      "FROM generate_series(1, 500) g");
  h.sub(
      "CREATE TABLE paid (id int PRIMARY KEY, total numeric(12,2), _modsync_lsn pg_lsn, "
      "_modsync_seq integer)");
  const auto config = h.write_config("itest", "tables: [orders]\nsnapshot_chunk_rows: 100",
                                     "- from: shop.public.orders\n"
                                     "  to: paid\n"
                                     "  columns: [id, total]\n"
                                     "  where: \"status = 'paid'\"");
  auto daemon = h.start(config, kStreaming);
  const std::string want = "SELECT id, total FROM orders WHERE status = 'paid' ORDER BY id";
  const std::string got = "SELECT id, total FROM paid ORDER BY id";
  bool same = h.converges(want, got);
  INFO(h.last_difference() << daemon.describe());
  REQUIRE(same);

  h.src("UPDATE orders SET status = 'paid' WHERE id <= 11");
  h.src("UPDATE orders SET total = -total WHERE id BETWEEN 490 AND 500");
  h.src("DELETE FROM orders WHERE id BETWEEN 100 AND 150");
  same = h.converges(want, got);
  INFO(h.last_difference());
  CHECK(same);
  ApplyHarness::stop(daemon);
}

TEST_CASE("an update that leaves a TOASTed column unchanged keeps its projected value",
          "[integration][apply][toast]") {
  ApplyHarness h;
  h.src("CREATE TABLE docs (id int PRIMARY KEY, status text NOT NULL, body text)");
  // Out of line and uncompressed, so any body above ~2 kB is TOASTed.
  h.src("ALTER TABLE docs ALTER COLUMN body SET STORAGE EXTERNAL");
  h.sub(
      "CREATE TABLE docs (id int PRIMARY KEY, status text, body text, _modsync_lsn pg_lsn, "
      "_modsync_seq integer)");
  const auto config = h.write_config("itest", "tables: [docs]\nsnapshot: never",
                                     "- from: shop.public.docs\n  to: docs");
  auto daemon = h.start(config, kStreaming);
  const std::string big =
      "(SELECT string_agg(md5(g::text || {}), '') FROM generate_series(1, 300) g)";
  for (int id = 1; id <= 5; ++id) {
    h.src(fmt::format("INSERT INTO docs VALUES ({0}, 'new', {1})", id,
                      fmt::format(fmt::runtime(big), id)));
  }
  const std::string want = "SELECT id, status, md5(body), length(body) FROM docs ORDER BY id";
  bool same = h.converges(want, want);
  INFO(h.last_difference() << daemon.describe());
  REQUIRE(same);

  h.src("UPDATE docs SET status = 'seen' WHERE id <= 3");  // body unchanged: not in the event
  same = h.converges(want, want);
  INFO(h.last_difference());
  CHECK(same);
  CHECK(h.sub_value("SELECT count(*) FROM docs WHERE body IS NULL") == "0");
}

TEST_CASE("a truncate on the source empties the projection", "[integration][apply]") {
  ApplyHarness h;
  h.src("CREATE TABLE items (id int PRIMARY KEY, qty int NOT NULL)");
  h.sub(
      "CREATE TABLE items (id int PRIMARY KEY, qty int, _modsync_lsn pg_lsn, "
      "_modsync_seq integer)");
  const auto config = h.write_config("itest", "tables: [items]\nsnapshot: never",
                                     "- from: shop.public.items\n  to: items");
  auto daemon = h.start(config, kStreaming);
  h.src("INSERT INTO items SELECT g, g FROM generate_series(1, 100) g");
  const std::string want = "SELECT id, qty FROM items ORDER BY id";
  bool same = h.converges(want, want);
  INFO(h.last_difference() << daemon.describe());
  REQUIRE(same);
  h.src("TRUNCATE items");
  CHECK(h.converges(want, want));
  h.src("INSERT INTO items SELECT g, g FROM generate_series(90, 120) g");
  same = h.converges(want, want);
  INFO(h.last_difference());
  CHECK(same);
  ApplyHarness::stop(daemon);
}
TEST_CASE("on_delete soft marks deleted rows, and a re-insert brings the row back",
          "[integration][apply]") {
  ApplyHarness h;
  h.src(kOrders);
  h.sub(
      "CREATE TABLE orders (id int PRIMARY KEY, status text, total numeric(12,2), "
      "deleted_at timestamptz, _modsync_lsn pg_lsn, _modsync_seq integer)");
  const auto config = h.write_config("itest", "tables: [orders]\nsnapshot: never",
                                     "- from: shop.public.orders\n"
                                     "  to: orders\n"
                                     "  columns: [id, status, total]\n"
                                     "  on_delete: soft\n"
                                     "  soft_delete_column: deleted_at");
  auto daemon = h.start(config, kStreaming);
  h.src("INSERT INTO orders SELECT g, 'new', g, NULL FROM generate_series(1, 20) g");
  h.src("DELETE FROM orders WHERE id BETWEEN 5 AND 9");
  h.src("INSERT INTO orders VALUES (7, 'again', 70, NULL)");  // comes back
  h.src("UPDATE orders SET status = 'paid' WHERE id > 15");

  const bool live =
      h.converges("SELECT id, status, total FROM orders ORDER BY id",
                  "SELECT id, status, total FROM orders WHERE deleted_at IS NULL ORDER BY id");
  INFO(h.last_difference() << daemon.describe());
  CHECK(live);
  const bool gone = h.converges("SELECT g FROM generate_series(5, 9) g WHERE g <> 7",
                                "SELECT id FROM orders WHERE deleted_at IS NOT NULL ORDER BY id");
  INFO(h.last_difference());
  CHECK(gone);
  // A soft-deleted row keeps its last values.
  CHECK(h.sub_value("SELECT status || ' ' || total FROM orders WHERE id = 6") == "new 6.00");
  ApplyHarness::stop(daemon);
}

TEST_CASE("an insert and a TOAST-unchanged update of the same row in one batch",
          "[integration][apply][toast]") {
  ApplyHarness h;
  h.src("CREATE TABLE docs (id int PRIMARY KEY, status text NOT NULL, body text)");
  h.src("ALTER TABLE docs ALTER COLUMN body SET STORAGE EXTERNAL");
  h.sub(
      "CREATE TABLE docs (id int PRIMARY KEY, status text, body text, _modsync_lsn pg_lsn, "
      "_modsync_seq integer)");
  const auto config = h.write_config("itest", "tables: [docs]\nsnapshot: never",
                                     "- from: shop.public.docs\n  to: docs");
  auto daemon = h.start(config, kStreaming);
  // One transaction: both events reach the sink together. The update's event does not carry
  // the body; the insert's does.
  h.src(
      "BEGIN;"
      "INSERT INTO docs SELECT 1, 'new', string_agg(md5(g::text), '') "
      "  FROM generate_series(1, 300) g;"
      "UPDATE docs SET status = 'seen' WHERE id = 1;"
      "COMMIT");
  h.src("INSERT INTO docs VALUES (2, 'marker', 'small')");
  const std::string want = "SELECT id, status, md5(body) FROM docs ORDER BY id";
  const bool same = h.converges(want, want);
  INFO(h.last_difference() << daemon.describe());
  CHECK(same);
}

// Regression: a truncate event has no key, so it lands on one partition, and the sink used to
// apply it in the batch's partition order: rows from other partitions written before the
// truncate survived it, rows written after it were removed. The truncate now wipes rows older
// than its position and bars older events still to come (modsync.truncates).
TEST_CASE("a truncate between changes on several partitions, all consumed in one batch",
          "[integration][apply]") {
  ApplyHarness h;
  h.src("CREATE TABLE items (id int PRIMARY KEY, qty int NOT NULL)");
  h.sub(
      "CREATE TABLE items (id int PRIMARY KEY, qty int, _modsync_lsn pg_lsn, "
      "_modsync_seq integer)");
  // Capture alone first, so that the sink later finds every event on Kafka at once.
  auto capture = h.start(h.write_config("cap", "tables: [items]\nsnapshot: never", ""),
                         {"streaming from slot"});
  h.src("INSERT INTO items SELECT g, g FROM generate_series(1, 100) g");
  h.src("TRUNCATE items");
  h.src("INSERT INTO items SELECT g, -g FROM generate_series(50, 60) g");
  const auto events =
      modsync::testing::kcat_consume(h.broker().bootstrap(), "shop.public.items", 112);
  INFO(capture.describe());
  REQUIRE(events.size() == 112);

  auto sink = h.start(h.write_config("app", "", "- from: shop.public.items\n  to: items"),
                      {"applying into"});
  const std::string want = "SELECT id, qty FROM items ORDER BY id";
  CHECK(h.consumed("shop.public.items", 112));
  const bool same = h.converges(want, want, 5s);
  INFO(h.last_difference() << sink.describe());
  CHECK(same);
  ApplyHarness::stop(sink);
  ApplyHarness::stop(capture);
}

TEST_CASE("a filter on dates and numerics means the same in Debezium value mode",
          "[integration][apply][debezium]") {
  // The filter sees each value converted back from Debezium's form (epoch days, Decimal bytes),
  // with the schema in the event and without it.
  const std::string kafka = GENERATE(std::string(""), std::string("envelope: schema_payload"));
  INFO("kafka: " << kafka);
  ApplyHarness h;
  h.src("CREATE TABLE orders (id int PRIMARY KEY, day date, total numeric(12,2), n numeric)");
  h.sub(
      "CREATE TABLE recent (id int PRIMARY KEY, day date, total numeric(12,2), n numeric, "
      "_modsync_lsn pg_lsn, _modsync_seq integer)");
  const auto config = h.write_config("itest", "tables: [orders]\nvalue_mode: debezium",
                                     "- from: shop.public.orders\n"
                                     "  to: recent\n"
                                     "  where: \"day >= '2024-01-01' AND total > 10 AND n < 0\"",
                                     "", kafka);
  h.src(
      "INSERT INTO orders VALUES (1, '2024-01-02', 12.50, -0.5), (2, '2023-12-31', 99, -1), "
      "(3, '2025-06-01', 10.00, -2), (4, '2030-01-01', 10.01, 0.001)");
  auto daemon = h.start(config, {"applying into"});
  h.src(
      "INSERT INTO orders VALUES (5, '2024-01-01', 10.01, -12345678901234567890.5), "
      "(6, '4713-01-01 BC', 50, -1), (7, 'infinity', 11, 'NaN')");
  h.src("UPDATE orders SET total = 5 WHERE id = 1");   // moves out
  h.src("UPDATE orders SET total = 20 WHERE id = 3");  // moves in
  const bool same = h.converges(
      "SELECT id, day, total, n FROM orders WHERE day >= '2024-01-01' AND total > 10 AND n < 0 "
      "ORDER BY id",
      "SELECT id, day, total, n FROM recent ORDER BY id");
  INFO(h.last_difference() << daemon.describe());
  CHECK(same);
  CHECK(h.sub_value("SELECT string_agg(id::text, ',' ORDER BY id) FROM recent") == "3,5");
  ApplyHarness::stop(daemon);
}
