// Bad input and faults: each gives one clear error naming the fix.

#include <catch2/catch.hpp>

#include <fstream>
#include <string>

#include "capture_harness.hpp"
#include "modsync/testing/eventually.hpp"
#include "modsync/testing/modsync_binary.hpp"

using namespace std::chrono_literals;
using Catch::Contains;
using modsync::itest::CaptureHarness;
using modsync::testing::ChildProcess;
using modsync::testing::eventually;

namespace {

size_t occurrences(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

/// Starts the daemon, waits for `phrase` on its output, stops it; returns its stderr.
std::string error_output(CaptureHarness& h, const std::string& phrase) {
  auto daemon = h.start_daemon(false);
  const bool seen = daemon.wait_for_output(phrase, 20s);
  INFO(daemon.describe());
  CHECK(seen);
  daemon.kill();
  return daemon.stderr_text();
}

}  // namespace

TEST_CASE("wal_level=replica is refused with the setting to change", "[integration][faults]") {
  CaptureHarness h(CaptureHarness::Options{{{"wal_level", "replica"}}});
  h.sql("CREATE TABLE items (id int PRIMARY KEY)");
  h.write_config("tables: [items]");
  const auto err = error_output(h, "wal_level");
  CHECK_THAT(err, Contains("wal_level is 'replica'"));
  CHECK_THAT(err, Contains("Fix: run ALTER SYSTEM SET wal_level = logical"));
  CHECK_THAT(err, Contains("restart PostgreSQL"));
}

TEST_CASE("a role without REPLICATION is told how to get it", "[integration][faults]") {
  CaptureHarness h;
  h.sql(
      "CREATE ROLE app LOGIN; CREATE TABLE items (id int PRIMARY KEY);"
      "ALTER TABLE items OWNER TO app; GRANT CREATE ON DATABASE shop TO app");
  h.write_config("tables: [items]", "", h.pg().dsn("shop", "app"));
  const auto err = error_output(h, "REPLICATION");
  CHECK_THAT(err, Contains("role app lacks the REPLICATION attribute"));
  // The log line is logfmt: the message's quotes around the role name arrive escaped.
  CHECK_THAT(err, Contains("Fix: ALTER ROLE \\\"app\\\" REPLICATION;"));
}

TEST_CASE("a configured table that does not exist is named", "[integration][faults]") {
  CaptureHarness h;
  h.sql("CREATE TABLE items (id int PRIMARY KEY)");
  h.write_config("tables: [items, public.missing]");
  const auto err = error_output(h, "does not exist");
  CHECK_THAT(err, Contains("table public.missing does not exist in database shop"));
  CHECK_THAT(err, Contains("Fix: create it, or remove it from source.tables"));
  CHECK(h.value("SELECT count(*) FROM pg_replication_slots") == "0");
}

TEST_CASE("a table without a primary key: inserts with a null key, one warning",
          "[integration][faults]") {
  CaptureHarness h;
  h.sql("CREATE TABLE history (tid int, delta int, mtime timestamp)");
  h.write_config("tables: [history]\nsnapshot: never");
  auto daemon = h.start_daemon();
  h.sql("INSERT INTO history VALUES (1, 10, now())");
  h.sql("INSERT INTO history SELECT g, g, now() FROM generate_series(2, 20) g");
  auto events = h.consume("shop.public.history", 20);
  INFO(daemon.describe());
  REQUIRE(events.size() == 20);
  for (const auto& e : events) {
    CHECK_FALSE(e.message.key);
    CHECK(e.op() == "c");
  }
  const auto err = daemon.stderr_text();
  CHECK(occurrences(err, "has neither a primary key nor a replica identity") == 1);
  CHECK_THAT(err, Contains("Fix: ALTER TABLE public.history REPLICA IDENTITY FULL"));
  CaptureHarness::stop_daemon(daemon);
}

TEST_CASE("a slot in use by another process is reported with who to stop",
          "[integration][faults]") {
  CaptureHarness h;
  h.sql(
      "CREATE TABLE items (id int PRIMARY KEY);"
      "CREATE PUBLICATION modsync_itest FOR TABLE items");
  h.sql("SELECT pg_create_logical_replication_slot('modsync_itest', 'pgoutput')");
  ChildProcess other({"/usr/lib/postgresql/15/bin/pg_recvlogical", "-d", h.pg().dsn("shop"), "-S",
                      "modsync_itest", "--start", "-o", "proto_version=1", "-o",
                      "publication_names=modsync_itest", "-f", "/dev/null"});
  REQUIRE(eventually(
      [&] { return h.value("SELECT active::text FROM pg_replication_slots") == "true"; }, 10s));
  h.write_config("tables: [items]\nsnapshot: never");
  const auto err = error_output(h, "in use");
  CHECK_THAT(err, Contains("replication slot modsync_itest is in use by another process"));
  CHECK_THAT(err, Contains("Fix: stop the other consumer of this slot"));
}

TEST_CASE("an unreachable broker is named, and capture starts once it appears",
          "[integration][faults]") {
  CaptureHarness h(CaptureHarness::Options{{}, false});
  h.sql("CREATE TABLE items (id int PRIMARY KEY)");
  const int port = modsync::testing::free_port();
  const std::string address = "127.0.0.1:" + std::to_string(port);
  h.write_config("tables: [items]\nsnapshot: never", address);
  auto daemon = h.start_daemon(false);
  INFO(daemon.describe());
  REQUIRE(daemon.wait_for_output("cannot reach Kafka", 30s));
  CHECK_THAT(daemon.stderr_text(), Contains("cannot reach Kafka at " + address));
  CHECK_THAT(daemon.stderr_text(), Contains("Fix: check kafka.brokers"));

  modsync::testing::DevBrokerProcess::Options broker;
  broker.extra_args = {"--port", std::to_string(port)};
  h.start_broker(broker);
  REQUIRE(daemon.wait_for_output("streaming from slot", 40s));
  h.sql("INSERT INTO items VALUES (1)");
  CHECK(h.consume("shop.public.items", 1).size() == 1);
  CaptureHarness::stop_daemon(daemon);
}

TEST_CASE("modsync validate on a broken config exits 2 naming file and line",
          "[integration][faults]") {
  CaptureHarness h(CaptureHarness::Options{{}, false});
  h.write_config("tables: [items]\nsnapshot: intial", "127.0.0.1:1");
  const auto result = modsync::testing::run_command(
      {modsync::testing::modsync_binary(), "validate", h.config_path().string()});
  INFO(result.out << result.err);
  CHECK(result.status == 2);
  CHECK_THAT(result.err, Contains("itest.yaml:12:3: source.snapshot: expected one of initial, "
                                  "never; got \"intial\". Fix:"));
  CHECK(result.out.empty());
}
