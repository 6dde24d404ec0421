// Effectively once across restarts: clean stops with nothing new, and SIGKILLs in the middle of
// a pgbench run.

#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "apply_harness.hpp"
#include "modsync/testing/child_process.hpp"
#include "modsync/testing/eventually.hpp"

using namespace std::chrono_literals;
using modsync::itest::ApplyHarness;
using modsync::itest::rows_text;
using modsync::testing::ChildProcess;

namespace {

const std::vector<std::string> kStreaming = {"streaming from slot", "applying into public.items",
                                             "applying into public.log"};

std::string offsets(ApplyHarness& h) {
  return rows_text(
      h.pg().query("ship",
                   "SELECT projection, topic, partition, next_offset FROM modsync.offsets "
                   "ORDER BY projection, topic, partition"));
}

}  // namespace

TEST_CASE("a restart with no new events applies nothing twice and offsets are stable",
          "[integration][apply][restart]") {
  ApplyHarness h;
  h.src("CREATE TABLE items (id int PRIMARY KEY, qty int NOT NULL)");
  h.src("CREATE TABLE log (at int NOT NULL, what text)");  // keyless: append-only projection
  h.sub(
      "CREATE TABLE items (id int PRIMARY KEY, qty int, _modsync_lsn pg_lsn, "
      "_modsync_seq integer);"
      "CREATE TABLE log (at int, what text)");
  const auto config = h.write_config("itest", "tables: [items, log]\nsnapshot: never",
                                     "- from: shop.public.items\n  to: items\n"
                                     "- from: shop.public.log\n  to: log");
  auto daemon = h.start(config, kStreaming);
  h.src("INSERT INTO items SELECT g, g FROM generate_series(1, 100) g");
  h.src("UPDATE items SET qty = -qty WHERE id % 10 = 0");
  h.src("INSERT INTO log SELECT g, 'x' FROM generate_series(1, 50) g");
  const std::string items = "SELECT id, qty FROM items ORDER BY id";
  const std::string log = "SELECT at, what FROM log ORDER BY at";
  REQUIRE(h.converges(items, items));
  REQUIRE(h.converges(log, log));
  REQUIRE(h.consumed("shop.public.items", 110));
  REQUIRE(h.consumed("shop.public.log", 50));
  const std::string before = offsets(h);
  const std::string positions = rows_text(
      h.pg().query("ship", "SELECT id, _modsync_lsn, _modsync_seq FROM items ORDER BY id"));

  for (const bool kill : {false, true}) {
    INFO((kill ? "after SIGKILL" : "after SIGTERM"));
    if (kill) {
      daemon.kill();
      REQUIRE(daemon.wait(5s).has_value());
    } else {
      ApplyHarness::stop(daemon);
    }
    daemon = h.start(config, kStreaming);
    std::this_thread::sleep_for(1500ms);
    INFO(daemon.describe());
    CHECK(offsets(h) == before);
    CHECK(h.sub_value("SELECT count(*) FROM log") == "50");
    CHECK(h.converges(items, items, 1s));
    CHECK(rows_text(h.pg().query("ship",
                                 "SELECT id, _modsync_lsn, _modsync_seq FROM items ORDER BY id")) ==
          positions);
  }
  // And they advance with the next events.
  h.src("INSERT INTO items VALUES (101, 1)");
  h.src("INSERT INTO log VALUES (51, 'y')");
  CHECK(h.consumed("shop.public.items", 111));
  CHECK(h.consumed("shop.public.log", 51));
  CHECK(h.converges(items, items));
  CHECK(h.converges(log, log));
  ApplyHarness::stop(daemon);
}

TEST_CASE(
    "pgbench with two SIGKILLs: accounts equal the filtered source, history has every row once",
    "[integration][apply][restart][pgbench]") {
  ApplyHarness h;
  const std::string port = std::to_string(h.pg().port());
  const std::vector<std::string> conn = {"-h", h.pg().host(), "-p", port, "-U", "postgres"};
  auto pgbench = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {"pgbench"};
    argv.insert(argv.end(), conn.begin(), conn.end());
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("shop");
    return argv;
  };
  const auto init = modsync::testing::run_command(pgbench({"-i", "-s", "1", "-q"}));
  INFO(init.err);
  REQUIRE(init.status == 0);
  h.sub(
      "CREATE TABLE accounts (aid int PRIMARY KEY, bid int, abalance int, "
      "_modsync_lsn pg_lsn, _modsync_seq integer);"
      "CREATE TABLE history (tid int, bid int, aid int, delta int, mtime timestamp, "
      "_modsync_lsn pg_lsn, _modsync_seq integer);"
      "CREATE INDEX ON history (_modsync_lsn, _modsync_seq)");
  // Every account starts at 0: with the filter, the projection starts empty without a snapshot.
  const auto config =
      h.write_config("itest", "tables: [pgbench_accounts, pgbench_history]\nsnapshot: never",
                     "- from: shop.public.pgbench_accounts\n"
                     "  to: accounts\n"
                     "  columns: [aid, bid, abalance]\n"
                     "  where: \"abalance > 0\"\n"
                     "- from: shop.public.pgbench_history\n"
                     "  to: history\n"
                     "  columns: [tid, bid, aid, delta, mtime]");
  const std::vector<std::string> streaming = {
      "streaming from slot", "applying into public.accounts", "applying into public.history"};
  auto daemon = h.start(config, streaming);

  ChildProcess bench(pgbench({"-c", "2", "-j", "2", "-T", "8", "-n"}));
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> pause_ms(1200, 2800);
  for (int kill = 0; kill < 2; ++kill) {
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(rng)));
    daemon.kill();
    REQUIRE(daemon.wait(5s).has_value());
    daemon = h.start(config);
  }
  const auto bench_status = bench.wait(60s);
  INFO(bench.describe());
  REQUIRE(bench_status == 0);

  const std::string accounts_src =
      "SELECT count(*), md5(string_agg(aid || ':' || bid || ':' || abalance, ',' ORDER BY aid)) "
      "FROM pgbench_accounts WHERE abalance > 0";
  const std::string accounts_sub =
      "SELECT count(*), md5(string_agg(aid || ':' || bid || ':' || abalance, ',' ORDER BY aid)) "
      "FROM accounts";
  const std::string history =
      "SELECT count(*), md5(string_agg(concat_ws(',', tid, bid, aid, delta, mtime), ';' "
      "ORDER BY tid, bid, aid, delta, mtime)) FROM (SELECT {} tid, bid, aid, delta, mtime FROM {}) "
      "h";
  const bool accounts_same = h.converges(accounts_src, accounts_sub, 90s);
  INFO("accounts: " << h.last_difference());
  CHECK(accounts_same);
  // None lost: the same set of rows (pgbench's rows differ at least in mtime).
  const bool history_complete =
      h.converges(fmt::format(fmt::runtime(history), "DISTINCT", "pgbench_history"),
                  fmt::format(fmt::runtime(history), "DISTINCT", "history"), 30s);
  INFO("history, distinct rows: " << h.last_difference() << daemon.describe());
  CHECK(history_complete);
  // None doubled. Regression: capture re-sends events after a SIGKILL (same positions), and an
  // append-only target used to insert the second copy; with its position columns it now keeps
  // each source row change once.
  const bool history_exact = h.converges(fmt::format(fmt::runtime(history), "", "pgbench_history"),
                                         fmt::format(fmt::runtime(history), "", "history"), 2s);
  INFO("history: " << h.last_difference());
  CHECK(history_exact);
  CHECK(h.src_value("SELECT count(*) > 1000 FROM pgbench_history") == "t");
  ApplyHarness::stop(daemon);
}

TEST_CASE("a subscriber crash right after its last batches: the projection is whole again",
          "[integration][apply][restart]") {
  // Batches commit with synchronous_commit off (docs/projections.md, "Commits do not wait for
  // the WAL flush"): a crash of the subscriber may lose its last commits, each with its own
  // offsets, and the projection applies them again from Kafka. The walwriter is held back to
  // widen that window. (On this host the tail was on disk at the immediate stop in every try,
  // so the test cannot insist that something was lost; it checks what is left is whole.)
  ApplyHarness h;
  h.pg().exec("postgres", "ALTER SYSTEM SET wal_writer_delay = '10s'");
  h.pg().query("postgres", "SELECT pg_reload_conf()");
  h.src("CREATE TABLE items (id int PRIMARY KEY, qty int NOT NULL)");
  h.sub(
      "CREATE TABLE items (id int PRIMARY KEY, qty int, _modsync_lsn pg_lsn, "
      "_modsync_seq integer)");
  const auto config = h.write_config("itest", "tables: [items]\nsnapshot: never",
                                     "- from: shop.public.items\n  to: items");
  const std::vector<std::string> streaming = {"streaming from slot", "applying into public.items"};
  auto daemon = h.start(config, streaming);
  const std::string items = "SELECT id, qty FROM items ORDER BY id";
  h.src("INSERT INTO items SELECT g, g FROM generate_series(1, 50) g");
  REQUIRE(h.consumed("shop.public.items", 50));
  h.src("UPDATE items SET qty = qty + 1000");
  h.src("INSERT INTO items SELECT g, g FROM generate_series(51, 100) g");
  REQUIRE(h.converges(items, items));
  REQUIRE(h.consumed("shop.public.items", 150));
  daemon.kill();
  REQUIRE(daemon.wait(5s).has_value());
  h.pg().stop(modsync::testing::PgCluster::StopMode::kImmediate);
  h.pg().start();
  INFO(h.consumed_now("shop.public.items") << " of 150 events applied after the crash");

  daemon = h.start(config, streaming);
  CHECK(h.converges(items, items));
  // Every event on the topic is consumed: the 150, and those the capture, SIGKILLed with them,
  // sends again from its checkpoint (counting exactly 150 failed about 1 run in 10).
  int64_t on_topic = 0;
  const bool all = modsync::testing::eventually(
      [&] {
        on_topic = static_cast<int64_t>(
            modsync::testing::kcat_consume(h.broker().bootstrap(), "shop.public.items", 1000000, 1s)
                .size());
        return on_topic >= 150 && h.consumed_now("shop.public.items") == on_topic;
      },
      30s, 200ms);
  INFO(h.consumed_now("shop.public.items") << " consumed, " << on_topic << " on the topic");
  CHECK(all);
  ApplyHarness::stop(daemon);
}
