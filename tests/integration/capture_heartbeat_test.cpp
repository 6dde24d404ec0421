// Heartbeats keep an idle source's slot moving while other databases write WAL.

#include <catch2/catch.hpp>

#include "capture_harness.hpp"
#include "modsync/testing/eventually.hpp"

using namespace std::chrono_literals;
using modsync::itest::CaptureHarness;
using modsync::itest::parse_lsn;
using modsync::testing::eventually;

TEST_CASE("an idle source's confirmed_flush_lsn follows WAL written by another database",
          "[integration][heartbeat]") {
  CaptureHarness h;
  h.pg().create_database("busy");
  h.pg().exec("busy", "CREATE TABLE big (id int, pad text)");
  h.sql("CREATE TABLE items (id int PRIMARY KEY)");
  h.write_config("tables: [items]\nsnapshot: never\nheartbeat_interval: 1s");
  auto daemon = h.start_daemon();

  const auto confirmed = [&] {
    return parse_lsn(h.value(
        "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'modsync_itest'"));
  };
  const uint64_t start = confirmed();
  // About 40 MB of WAL that the slot's publication does not cover.
  for (int i = 0; i < 4; ++i) {
    h.pg().exec("busy",
                "INSERT INTO big SELECT g, repeat('x', 200) FROM generate_series(1, 40000) g");
  }
  const uint64_t target = parse_lsn(h.pg().query_value("busy", "SELECT pg_current_wal_lsn()"));
  REQUIRE(target - start > 10'000'000);

  const auto begin = std::chrono::steady_clock::now();
  INFO(daemon.describe());
  CHECK(eventually([&] { return confirmed() >= target; }, 10s, 100ms));
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - begin);
  WARN("confirmed_flush_lsn reached the busy database's WAL position after " << took.count()
                                                                             << " ms");
  CaptureHarness::stop_daemon(daemon);
}
