// The source-side cases of the bad-input catalogue (docs/troubleshooting.md) that
// capture_faults_test does not cover: a wrong password, a publication that lacks a configured
// table, a slot that PostgreSQL invalidated. Each must end in a clear error naming the fix, or
// in modsync repairing what it may, and never in changes silently skipped.

#include <catch2/catch.hpp>

#include <csignal>
#include <fstream>
#include <sstream>
#include <string>

#include "capture_harness.hpp"
#include "modsync/testing/eventually.hpp"

using namespace std::chrono_literals;
using Catch::Contains;
using modsync::itest::CaptureHarness;
using modsync::testing::eventually;

namespace {

/// Puts `line` first in the cluster's pg_hba.conf and reloads it.
void hba_first(CaptureHarness& h, const std::string& line) {
  const auto path = h.pg().data_dir() / "pg_hba.conf";
  std::stringstream old;
  old << std::ifstream(path).rdbuf();
  std::ofstream(path) << line << "\n" << old.str();
  h.sql("SELECT pg_reload_conf()");
}

/// A slot may keep 1 MB of WAL behind the server's position.
const CaptureHarness::Options kSmallSlotWal{
    {{"max_slot_wal_keep_size", "1MB"}, {"wal_keep_size", "0"}, {"max_wal_size", "32MB"},
     {"min_wal_size", "32MB"}}};

/// Writes and checkpoints far more WAL than kSmallSlotWal lets an idle slot keep.
void outrun_slot(CaptureHarness& h) {
  for (int i = 0; i < 4; ++i) {
    h.sql("INSERT INTO filler SELECT g, repeat('x', 1000) FROM generate_series(1, 20000) g;"
          "SELECT pg_switch_wal(); CHECKPOINT");
  }
}

}  // namespace

TEST_CASE("a wrong password is named with the fix, and the password is not shown",
          "[integration][faults][bad-input]") {
  CaptureHarness h;
  h.sql(
      "SET password_encryption = 'scram-sha-256';"
      "CREATE ROLE app LOGIN REPLICATION PASSWORD 'right-Pa55';"
      "CREATE TABLE items (id int PRIMARY KEY); ALTER TABLE items OWNER TO app;"
      "GRANT CREATE ON DATABASE shop TO app");
  hba_first(h, "host all app 127.0.0.1/32 scram-sha-256\nhost replication app 127.0.0.1/32 "
               "scram-sha-256");
  const std::string wrong = "wr0ng-Pa55";
  h.write_config("tables: [items]", "", h.pg().dsn("shop", "app") + " password=" + wrong);
  auto daemon = h.start_daemon(false);
  const bool seen = daemon.wait_for_output("password authentication failed", 20s);
  INFO(daemon.describe());
  CHECK(seen);
  daemon.kill();
  const std::string logs = daemon.stdout_text() + daemon.stderr_text();
  CHECK_THAT(logs, Contains("cannot connect to PostgreSQL"));
  CHECK_THAT(logs, Contains("Fix: check the dsn"));
  CHECK_THAT(logs, !Contains(wrong));
  // Nothing was created with the wrong credentials.
  CHECK(h.value("SELECT count(*) FROM pg_replication_slots") == "0");
}

TEST_CASE("a publication that lacks a configured table is completed at start",
          "[integration][faults][bad-input]") {
  CaptureHarness h;
  h.sql(
      "CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY);"
      "CREATE PUBLICATION modsync_itest FOR TABLE a");
  h.write_config("tables: [a, b]\nsnapshot: never");
  auto daemon = h.start_daemon();
  CHECK(h.value("SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_publication_tables "
                "WHERE pubname = 'modsync_itest'") == "a,b");
  h.sql("INSERT INTO b VALUES (1); INSERT INTO a VALUES (1)");
  INFO(daemon.describe());
  CHECK(h.consume("shop.public.b", 1).size() == 1);
  CHECK(h.consume("shop.public.a", 1).size() == 1);
  CaptureHarness::stop_daemon(daemon);
}

// A table dropped from the publication while modsync streams is no longer decoded by pgoutput:
// without snapshots its changes meanwhile cannot be read again, so it is said loudly, and the
// table is published again.
TEST_CASE("a table dropped from the publication while streaming is reported, not skipped",
          "[integration][faults][bad-input]") {
  CaptureHarness h;
  h.sql("CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY)");
  h.write_config("tables: [a, b]\nsnapshot: never");
  auto daemon = h.start_daemon();
  h.sql("INSERT INTO b VALUES (1)");
  REQUIRE(h.consume("shop.public.b", 1).size() == 1);
  h.sql("ALTER PUBLICATION modsync_itest DROP TABLE b");
  h.sql("INSERT INTO b VALUES (2); INSERT INTO a VALUES (2)");
  REQUIRE(h.consume("shop.public.a", 1).size() == 1);
  const bool reported = daemon.wait_for_output("publication membership of public.b changed", 15s);
  INFO(daemon.describe());
  CHECK(reported);
  CHECK_THAT(daemon.stderr_text(), Contains("modsync resnapshot"));
  // Published again: later changes arrive.
  h.sql("INSERT INTO b VALUES (3)");
  const auto b = h.consume("shop.public.b", 2, 15s);
  REQUIRE(b.size() == 2);
  CHECK_THAT(b[1].message.value, Contains("\"id\":3"));
  daemon.kill();
}

TEST_CASE("a slot invalidated by max_slot_wal_keep_size is reported with the way out",
          "[integration][faults][bad-input]") {
  CaptureHarness h(kSmallSlotWal);
  h.sql("CREATE TABLE items (id int PRIMARY KEY); CREATE TABLE filler (id int, pad text)");
  h.write_config("tables: [items]\nsnapshot: never");
  auto daemon = h.start_daemon();
  h.sql("INSERT INTO items VALUES (1)");
  REQUIRE(h.consume("shop.public.items", 1).size() == 1);
  auto slot_lost = [&] {
    return eventually(
        [&] { return h.value("SELECT wal_status FROM pg_replication_slots") == "lost"; }, 20s);
  };

  SECTION("while modsync was stopped: it refuses to start streaming") {
    CaptureHarness::stop_daemon(daemon);
    // A change it must not skip, then more WAL than the slot may keep.
    h.sql("INSERT INTO items VALUES (2)");
    outrun_slot(h);
    REQUIRE(slot_lost());
    daemon = h.start_daemon(false);
    const bool seen = daemon.wait_for_output("invalidated", 20s);
    INFO(daemon.describe());
    CHECK(seen);
    CHECK_THAT(daemon.stdout_text() + daemon.stderr_text(), !Contains("streaming from slot"));
  }
  SECTION("while modsync was stalled: it stops streaming") {
    daemon.signal(SIGSTOP);
    h.sql("INSERT INTO items VALUES (2)");
    outrun_slot(h);
    const bool lost = slot_lost();
    daemon.signal(SIGCONT);
    REQUIRE(lost);
    const bool seen = daemon.wait_for_output("invalidated", 30s);
    INFO(daemon.describe());
    CHECK(seen);
  }
  const std::string err = daemon.stderr_text();
  // Said by the capture ("is invalidated") or first by the slot monitor ("is lost").
  CHECK_THAT(err, Contains("replication slot modsync_itest is") && Contains("wal_status lost"));
  CHECK_THAT(err, Contains("modsync slots drop"));
  CHECK_THAT(err, Contains("modsync resnapshot"));
  daemon.kill();
}
