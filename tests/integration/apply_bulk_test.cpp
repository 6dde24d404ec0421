// The bulk path for new rows (docs/projections.md, "Initial loads"): snapshot rows and inserts
// of keys the target does not hold are COPYed straight into it; a key already there hands the
// segment back to the merge and its version guard. The projections must equal the source for
// keyed, composite-key and keyless tables, filtered and column subsets; streamed changes must win
// over older snapshot rows; re-sent snapshot rows (a capture crash) must neither double a row nor
// wedge the projection on a unique violation. The oracle is SQL on the source; the metrics say
// which path the rows took.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <httplib.h>

#include "apply_harness.hpp"
#include "modsync/testing/child_process.hpp"
#include "modsync/testing/eventually.hpp"
#include "modsync/testing/kcat.hpp"
#include "modsync/testing/pg_cluster.hpp"

using namespace std::chrono_literals;
using modsync::itest::ApplyHarness;
using modsync::itest::output;

namespace {

constexpr const char* kPosition = "_modsync_lsn pg_lsn, _modsync_seq integer";

/// The sum over a projection's series of metric `name` (0 when the daemon does not answer).
double metric(int port, const std::string& name, const std::string& projection) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(5, 0);
  const auto res = client.Get("/metrics");
  if (!res) return 0;
  std::istringstream in(res->body);
  const std::string prefix = name + "{";
  const std::string label = "projection=\"" + projection + "\"";
  double sum = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) == 0 && line.find(label) != std::string::npos)
      sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

/// `config` with the daemon's HTTP endpoint on `port`.
void listen_on(const std::filesystem::path& config, int port) {
  std::ifstream in(config);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string from = "http: { listen: \"\" }";
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  text.replace(at, from.size(), fmt::format("http: {{ listen: \"127.0.0.1:{}\" }}", port));
  std::ofstream(config) << text;
}

/// acct (keyed; its bytea holds NULL, NUL bytes, backslashes and newlines), line (composite key,
/// not in insert order) and hist (keyless), `rows` rows each, with their targets: hist's with a
/// unique index on the positions (a keyless log takes the bulk path only with one), and
/// acct_big, a filtered column subset of acct.
void create_tables(ApplyHarness& h, int rows) {
  h.src(
      "CREATE TABLE acct (id int PRIMARY KEY, note text, amount numeric(12,2), tags text[], blob "
      "bytea)");
  h.src(fmt::format(
      "INSERT INTO acct SELECT g, 'note ' || g || E'\\t\\\\ \\n', g / 7.0, ARRAY['a', g::text], "
      "CASE WHEN g % 13 <> 0 THEN decode(lpad(to_hex(g), 8, '0') || '005c0a', 'hex') END FROM "
      "generate_series(1, {}) g",
      rows));
  h.src("CREATE TABLE line (region text, n int, qty int, PRIMARY KEY (region, n))");
  h.src(fmt::format(
      "INSERT INTO line SELECT (ARRAY['west', 'east', 'north'])[1 + g % 3], g, g % 17 FROM "
      "generate_series(1, {}) g",
      rows));
  h.src("CREATE TABLE hist (n int, note text)");
  h.src(fmt::format("INSERT INTO hist SELECT g % 500, CASE WHEN g % 11 = 0 THEN NULL ELSE 'h' "
                    "END FROM generate_series(1, {}) g",
                    rows));
  h.sub(fmt::format(
      "CREATE TABLE acct (id int PRIMARY KEY, note text, amount numeric(12,2), tags text[], blob "
      "bytea, {})",
      kPosition));
  h.sub(fmt::format("CREATE TABLE acct_big (id int PRIMARY KEY, amount numeric(12,2), {})",
                    kPosition));
  h.sub(fmt::format(
      "CREATE TABLE line (region text, n int, qty int, PRIMARY KEY (region, n), {})", kPosition));
  h.sub(fmt::format("CREATE TABLE hist (n int, note text, {})", kPosition));
  h.sub("CREATE UNIQUE INDEX ON hist (_modsync_lsn, _modsync_seq)");
}

const char* kProjections =
    "- from: shop.public.acct\n  to: acct\n"
    "- from: shop.public.acct\n  to: acct_big\n  columns: [id, amount]\n"
    "  where: \"amount > 100\"\n"
    "- from: shop.public.line\n  to: line\n"
    "- from: shop.public.hist\n  to: hist";

const char* kSame[][2] = {
    {"SELECT id, note, amount, tags, blob FROM acct ORDER BY id",
     "SELECT id, note, amount, tags, blob FROM acct ORDER BY id"},
    {"SELECT id, amount FROM acct WHERE amount > 100 ORDER BY id",
     "SELECT id, amount FROM acct_big ORDER BY id"},
    {"SELECT region, n, qty FROM line ORDER BY 1, 2", "SELECT region, n, qty FROM line ORDER BY 1, 2"},
    {"SELECT n, note FROM hist ORDER BY n, note", "SELECT n, note FROM hist ORDER BY n, note"},
};

/// The tables (create_tables), analyzed, and a config reading them with two workers.
std::filesystem::path setup(ApplyHarness& h, int rows, int chunk_rows,
                            const std::string& sink_extra = "") {
  create_tables(h, rows);
  h.src("ANALYZE");
  return h.write_config("itest",
                        fmt::format("tables: [acct, line, hist]\nsnapshot_chunk_rows: {}\n"
                                    "snapshot_workers: 2",
                                    chunk_rows),
                        kProjections, sink_extra);
}

void check_equal(ApplyHarness& h, const modsync::testing::ChildProcess& daemon) {
  for (const auto& [src, sub] : kSame) {
    const bool same = h.converges(src, sub, 120s);
    INFO(src << "\n" << h.last_difference().substr(0, 2000) << daemon.describe());
    CHECK(same);
  }
  // Each keyless row change once, each keyed row once: no row doubled by a re-sent event.
  CHECK(h.sub_value("SELECT count(*) FROM hist") == h.src_value("SELECT count(*) FROM hist"));
}

}  // namespace

TEST_CASE("an initial load over the bulk path equals the source, streamed changes win",
          "[integration][apply][snapshot][bulk]") {
  ApplyHarness h({.partitions = 4});
  const auto config = setup(h, 6000, 500, "batch_rows: 1000");
  const int port = modsync::testing::free_port();
  listen_on(config, port);
  auto daemon = h.start(config, {"snapshot of public.acct"}, 60s);
  // Changed while the snapshot is read: each change is newer than the row's snapshot version,
  // whichever reaches the projection first.
  h.src("UPDATE acct SET note = 'streamed', amount = amount + 1000 WHERE id % 10 = 0");
  h.src("DELETE FROM line WHERE n % 9 = 0");
  h.src("UPDATE line SET qty = -1 WHERE n % 4 = 0");
  h.src("INSERT INTO hist VALUES (9999, 'streamed')");
  h.src("INSERT INTO acct SELECT g, 'new', 500, NULL FROM generate_series(10001, 10100) g");
  REQUIRE(daemon.wait_for_output("streaming from slot", 60s));
  check_equal(h, daemon);
  // The rows took the bulk path, not the merge.
  for (const char* p : {"public.acct", "public.line", "public.hist", "public.acct_big"}) {
    INFO(p);
    CHECK(metric(port, "modsync_apply_bulk_rows_total", p) >= 1000);
  }
  CHECK(output(daemon).find("dead-letter") == std::string::npos);
  ApplyHarness::stop(daemon);
}

// Issue 11: a capture that crashed re-sends snapshot rows the projection already applied; on the
// bulk path their COPY meets a unique violation. Without handing the segment back to the merge,
// the data error split the batch down to single events and dead-lettered every re-sent row.
TEST_CASE("re-sent snapshot rows neither double rows nor wedge nor regress the projection",
          "[integration][apply][snapshot][bulk]") {
  ApplyHarness h({.partitions = 2});
  create_tables(h, 2000);
  const auto config = h.write_config("itest", "tables: [acct, line, hist]", kProjections);
  const int port = modsync::testing::free_port();
  listen_on(config, port);
  auto daemon = h.start(config, {"streaming from slot"}, 60s);
  check_equal(h, daemon);
  // Newer than their snapshot rows, which come again below.
  h.src("UPDATE acct SET note = 'after the snapshot' WHERE id <= 50");
  REQUIRE(h.converges("SELECT count(*) FROM acct WHERE note = 'after the snapshot'",
                      "SELECT count(*) FROM acct WHERE note = 'after the snapshot'"));

  // The snapshot rows of acct and hist again, as a capture resuming a snapshot sends them: same
  // keys, positions and values, on the same partitions.
  int64_t resent = 0;
  for (const char* table : {"acct", "hist"}) {
    const std::string topic = fmt::format("shop.public.{}", table);
    const auto events = modsync::testing::kcat_consume(h.broker().bootstrap(), topic, 2000, 30s);
    std::map<int, std::string> by_partition;
    for (const auto& m : events) {
      if (m.value.find("\"op\":\"r\"") == std::string::npos) continue;
      by_partition[m.partition] += m.key.value_or("") + "\t" + m.value + "\n";
      ++resent;
    }
    for (const auto& [partition, text] : by_partition) {
      const auto file = h.dir() / fmt::format("resent-{}-{}", table, partition);
      std::ofstream(file, std::ios::binary) << text;
      const auto result = modsync::testing::run_command(
          {"kcat", "-P", "-b", h.broker().bootstrap(), "-t", topic, "-p",
           std::to_string(partition), "-K", "\t", "-l", file.string()});
      INFO(result.err);
      REQUIRE(result.status == 0);
    }
  }
  REQUIRE(resent == 4000);
  // acct: 2000 snapshot rows, 50 updates, 2000 again, for each of its two projections.
  REQUIRE(h.consumed("shop.public.acct", 2 * 4050, 60s));
  REQUIRE(h.consumed("shop.public.hist", 4000, 60s));
  check_equal(h, daemon);
  CHECK(h.sub_value("SELECT count(*) FROM acct WHERE note = 'after the snapshot'") == "50");
  CHECK(metric(port, "modsync_apply_bulk_fallbacks_total", "public.acct") >= 1);
  CHECK(metric(port, "modsync_apply_bulk_fallbacks_total", "public.hist") >= 1);
  CHECK(metric(port, "modsync_dead_letter_events_total", "public.acct") == 0);
  CHECK(metric(port, "modsync_dead_letter_events_total", "public.hist") == 0);
  ApplyHarness::stop(daemon);
}

TEST_CASE("a bulk-loaded snapshot resumed after SIGKILL equals the source",
          "[integration][apply][snapshot][bulk]") {
  ApplyHarness h({.partitions = 16});
  const auto config = setup(h, 12000, 100);
  auto daemon = h.start(config, {"snapshot of public.acct from row 0"});
  const size_t n = modsync::itest::kill_once_topic_holds(h, daemon, "shop.public.acct", 3000);
  REQUIRE(n >= 3000);
  REQUIRE(n < 12000);
  h.src("DELETE FROM acct WHERE id % 7 = 0");
  h.src("UPDATE acct SET note = 'changed', amount = 150 WHERE id % 7 = 1");
  h.src("INSERT INTO hist SELECT g, 'late' FROM generate_series(1, 100) g");
  auto again = h.start(config, {"resuming the snapshot", "streaming from slot"}, 60s);
  check_equal(h, again);
  CHECK(output(again).find("dead-letter") == std::string::npos);
  ApplyHarness::stop(again);
}
