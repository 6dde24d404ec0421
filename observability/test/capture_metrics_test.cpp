#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "modsync/observability/capture_metrics.hpp"

using namespace modsync::observability;
using State = modsync::capture::CaptureStats::State;

TEST_CASE("capture metrics read a pair's stats") {
  modsync::capture::CaptureStats stats;
  stats.state = State::kStreaming;
  stats.events_created = 3;
  stats.events_read = 5;
  stats.transactions = 2;
  stats.bytes_produced = 512;
  stats.received_lsn = 0x16B3748;
  stats.confirmed_lsn = 0x16B3700;
  stats.last_commit_unix_ms = 1764176400123;

  MetricsWriter out;
  write_capture_metrics(out, "orders-to-shipping", "orders", stats);
  const std::string text = out.render();
  const std::string l = "pair=\"orders-to-shipping\",module=\"orders\"";
  for (const std::string& line : std::vector<std::string>{
           "# TYPE modsync_events_captured_total counter\n",
           "modsync_events_captured_total{" + l + ",op=\"c\"} 3\n",
           "modsync_events_captured_total{" + l + ",op=\"r\"} 5\n",
           "modsync_events_captured_total{" + l + ",op=\"m\"} 0\n",
           "modsync_transactions_captured_total{" + l + "} 2\n",
           "modsync_produced_bytes_total{" + l + "} 512\n",
           "modsync_source_received_lsn{" + l + "} 23803720\n",
           "modsync_source_confirmed_lsn{" + l + "} 23803648\n",
           "modsync_source_lag_bytes{" + l + "} 72\n",
           "modsync_last_commit_timestamp_seconds{" + l + "} 1764176400.123\n",
           "modsync_capture_state{" + l + ",state=\"streaming\"} 1\n",
           "modsync_capture_state{" + l + ",state=\"failed\"} 0\n",
       }) {
    INFO(line);
    CHECK(text.find(line) != std::string::npos);
  }
}

TEST_CASE("readiness names the pair and its last error") {
  modsync::capture::CaptureStats stats;
  CHECK(capture_not_ready_reason("p", stats) == "pair p: capture starting");
  stats.state = State::kSnapshotting;
  CHECK_FALSE(capture_not_ready_reason("p", stats).has_value());
  stats.state = State::kFailed;
  stats.retries = 3;
  stats.set_error("slot \"orders\" is active for PID 42");
  CHECK(capture_not_ready_reason("p", stats) ==
        "pair p: capture failed: slot \"orders\" is active for PID 42 (retries: 3)");
}

TEST_CASE("status JSON prints LSNs as PostgreSQL does and escapes the error") {
  modsync::capture::CaptureStats stats;
  stats.state = State::kRetrying;
  stats.received_lsn = 0x16B3748;
  stats.confirmed_lsn = 0x16B3700;
  stats.events_updated = 4;
  stats.set_error("connection lost:\n\"server closed\"");
  CHECK(capture_status_json("orders-to-shipping", "orders", stats) ==
        R"({"pair":"orders-to-shipping","module":"orders","state":"retrying",)"
        R"("received_lsn":"0/16B3748","confirmed_lsn":"0/16B3700","lag_bytes":72,)"
        R"("events":{"c":0,"u":4,"d":0,"r":0,"t":0,"m":0},"transactions":0,"produced_bytes":0,)"
        R"("snapshot_rows":0,"retries":0,"last_commit_unix_ms":0,)"
        R"("last_error":"connection lost:\n\"server closed\""})");
}
