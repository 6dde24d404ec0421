// Parallel snapshots (source.snapshot_workers): several connections sharing the exported
// snapshot read key ranges (CTID ranges for keyless tables) with COPY; the projections must
// equal the source, also when the snapshot is resumed after a SIGKILL in the middle of a range.
// The oracle is SQL on the source.

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include <fmt/format.h>

#include "apply_harness.hpp"
#include "modsync/testing/child_process.hpp"
#include "modsync/testing/kcat.hpp"

using namespace std::chrono_literals;
using modsync::itest::ApplyHarness;
using modsync::itest::output;

namespace {

constexpr const char* kPosition = "_modsync_lsn pg_lsn, _modsync_seq integer";

/// A keyed table (acct), a composite-key one (line: text and int, so key order is not insert
/// order; its key columns are named like the row number and count of an earlier range-bound
/// query, which then failed as ambiguous) and a keyless one (hist), `rows` rows each, with
/// their targets.
void create_tables(ApplyHarness& h, int rows) {
  h.src("CREATE TABLE acct (id int PRIMARY KEY, note text, amount numeric(12,2))");
  h.src(
      fmt::format("INSERT INTO acct SELECT g, 'note ' || g || E'\\t\\\\ \\n', g / 7.0 FROM "
                  "generate_series(1, {}) g",
                  rows));
  h.src(
      "CREATE TABLE line (modsync_total text, modsync_n int, qty int, PRIMARY KEY (modsync_total, "
      "modsync_n))");
  h.src(fmt::format(
      "INSERT INTO line SELECT (ARRAY['west', 'east', 'north'])[1 + g % 3], g, g % 17 FROM "
      "generate_series(1, {}) g",
      rows));
  h.src("CREATE TABLE hist (n int, note text)");
  h.src(
      fmt::format("INSERT INTO hist SELECT g % 500, CASE WHEN g % 11 = 0 THEN NULL ELSE 'h' "
                  "END FROM generate_series(1, {}) g",
                  rows));
  // Dead tuples and free space: the CTID ranges must not depend on a dense heap.
  h.src("DELETE FROM hist WHERE n % 13 = 0");
  h.sub(fmt::format("CREATE TABLE acct (id int PRIMARY KEY, note text, amount numeric(12,2), {})",
                    kPosition));
  h.sub(fmt::format(
      "CREATE TABLE line (modsync_total text, modsync_n int, qty int, PRIMARY KEY (modsync_total, "
      "modsync_n), {})",
      kPosition));
  h.sub(fmt::format("CREATE TABLE hist (n int, note text, {})", kPosition));
}

const char* kProjections =
    "- from: shop.public.acct\n  to: acct\n"
    "- from: shop.public.line\n  to: line\n"
    "- from: shop.public.hist\n  to: hist";

/// The tables (create_tables), analyzed, and a config reading them with three workers.
std::filesystem::path setup(ApplyHarness& h, int rows, int chunk_rows) {
  create_tables(h, rows);
  h.src("ANALYZE");
  return h.write_config("itest",
                        fmt::format("tables: [acct, line, hist]\nsnapshot_chunk_rows: {}\n"
                                    "snapshot_workers: 3",
                                    chunk_rows),
                        kProjections);
}

void check_equal(ApplyHarness& h, const modsync::testing::ChildProcess& daemon) {
  for (const auto& q : {"SELECT id, note, amount FROM acct ORDER BY id",
                        "SELECT modsync_total, modsync_n, qty FROM line ORDER BY 1, 2",
                        "SELECT n, note FROM hist ORDER BY n, note"}) {
    const bool same = h.converges(q, q, 120s);
    INFO(q << "\n" << h.last_difference().substr(0, 2000) << daemon.describe());
    CHECK(same);
  }
}

}  // namespace

TEST_CASE("a parallel snapshot equals the source for keyed, composite-key and keyless tables",
          "[integration][apply][snapshot]") {
  ApplyHarness h({.partitions = 4});
  const auto config = setup(h, 5000, 300);
  auto daemon = h.start(config, {"snapshot of public.hist read", "streaming from slot"}, 60s);
  CHECK(output(daemon).find("3 workers") != std::string::npos);
  // Streamed after the snapshot point: they win over the snapshot rows by version.
  h.src("UPDATE acct SET note = 'streamed' WHERE id % 10 = 0");
  h.src("DELETE FROM line WHERE modsync_n % 9 = 0");
  h.src("INSERT INTO hist VALUES (9999, 'streamed')");
  check_equal(h, daemon);
  // Each row once on Kafka: op r events of the keyed table, counted with kcat.
  const auto messages =
      modsync::testing::kcat_consume(h.broker().bootstrap(), "shop.public.acct", 5000 + 500, 20s);
  size_t reads = 0;
  for (const auto& m : messages)
    if (m.value.find("\"op\":\"r\"") != std::string::npos) ++reads;
  CHECK(reads == 5000);
  ApplyHarness::stop(daemon);
}

TEST_CASE("a parallel snapshot resumed after SIGKILL mid-range equals the source",
          "[integration][apply][snapshot]") {
  // Partitions enough that each stays inside the dev broker's retention (about 5 MiB).
  ApplyHarness h({.partitions = 16});
  const auto config = setup(h, 12000, 100);
  auto daemon = h.start(config, {"snapshot of public.acct from row 0"});
  // Kill once part of acct is on Kafka: some of its ranges are recorded, others in flight.
  const size_t n = modsync::itest::kill_once_topic_holds(h, daemon, "shop.public.acct", 3000);
  REQUIRE(n >= 3000);
  REQUIRE(n < 12000);  // else the kill comes too late to test a resume
  INFO(daemon.describe());
  REQUIRE(output(daemon).find("snapshot of public.acct read") == std::string::npos);
  // Changed while the daemon is down, in ranges recorded and ranges not yet.
  h.src("DELETE FROM acct WHERE id % 7 = 0");
  h.src("UPDATE acct SET note = 'changed' WHERE id % 7 = 1");
  h.src("INSERT INTO acct SELECT g, 'late', 1 FROM generate_series(20001, 20100) g");
  h.src("UPDATE line SET qty = -1 WHERE modsync_n % 5 = 0");
  h.src("INSERT INTO hist SELECT g, 'late' FROM generate_series(1, 100) g");
  auto again = h.start(config, {"resuming the snapshot", "streaming from slot"}, 60s);
  // It resumed after the recorded ranges, not from the first row.
  const std::string out = output(again);
  const auto at = out.find("snapshot of public.acct from row ");
  REQUIRE(at != std::string::npos);
  CHECK(out.compare(at, 35, "snapshot of public.acct from row 0 ") != 0);
  check_equal(h, again);
  ApplyHarness::stop(again);
}

TEST_CASE("a parallel snapshot of a keyless partitioned table holds each row once",
          "[integration][apply][snapshot]") {
  // The partitions' ctids repeat each other: their rows must not share snapshot positions.
  ApplyHarness h({.partitions = 4});
  h.src("CREATE TABLE logs (n int, note text) PARTITION BY RANGE (n)");
  h.src("CREATE TABLE logs_a PARTITION OF logs FOR VALUES FROM (MINVALUE) TO (1000)");
  h.src("CREATE TABLE logs_b PARTITION OF logs FOR VALUES FROM (1000) TO (MAXVALUE)");
  h.src("INSERT INTO logs SELECT g, 'x' FROM generate_series(1, 2000) g");
  h.src("ANALYZE");
  h.sub(fmt::format("CREATE TABLE logs (n int, note text, {})", kPosition));
  const auto config =
      h.write_config("itest", "tables: [logs]\nsnapshot_chunk_rows: 100\nsnapshot_workers: 3",
                     "- from: shop.public.logs\n  to: logs");
  auto daemon = h.start(config, {"snapshot of public.logs read", "streaming from slot"}, 60s);
  h.src("INSERT INTO logs VALUES (5000, 'streamed')");
  const bool same = h.converges("SELECT n, note FROM logs ORDER BY n, note",
                                "SELECT n, note FROM logs ORDER BY n, note", 60s);
  INFO(h.last_difference().substr(0, 2000) << daemon.describe());
  CHECK(same);
  ApplyHarness::stop(daemon);
}
