#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "modsync/capture/capture_probe.hpp"

using modsync::capture::CaptureProbe;
using modsync::observability::MetricsWriter;
using State = modsync::capture::CaptureStats::State;

TEST_CASE("capture metrics read a pair's stats") {
  modsync::capture::CaptureStats stats;
  const CaptureProbe probe("orders-to-shipping", "orders", stats);
  stats.state = State::kStreaming;
  stats.events_created = 3;
  stats.events_read = 5;
  stats.transactions = 2;
  stats.bytes_produced = 512;
  stats.received_lsn = 0x16B3748;
  stats.confirmed_lsn = 0x16B3700;
  stats.last_commit_unix_ms = 1764176400123;

  MetricsWriter out;
  probe.write_metrics(out);
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
  const CaptureProbe probe("p", "m", stats);
  CHECK(probe.not_ready_reason() == "pair p: capture starting");
  stats.state = State::kSnapshotting;
  CHECK_FALSE(probe.not_ready_reason().has_value());
  stats.state = State::kFailed;
  stats.retries = 3;
  stats.set_error("slot \"orders\" is active for PID 42");
  CHECK(probe.not_ready_reason() ==
        "pair p: capture failed: slot \"orders\" is active for PID 42 (retries: 3)");
}

TEST_CASE("an attempt after a failure is a retry, not a fresh start") {
  modsync::capture::CaptureStats stats;
  const CaptureProbe probe("p", "m", stats);
  CHECK(probe.state_name() == "starting");
  stats.retries = 2;
  stats.set_error("cannot reach Kafka");
  stats.state = State::kStarting;  // the supervisor's next attempt begins
  CHECK(probe.state_name() == "retrying");
  CHECK(probe.not_ready_reason() == "pair p: capture retrying: cannot reach Kafka (retries: 2)");
  MetricsWriter out;
  probe.write_metrics(out);
  CHECK(
      out.render().find("modsync_capture_state{pair=\"p\",module=\"m\",state=\"retrying\"} 1\n") !=
      std::string::npos);
}

TEST_CASE("status JSON prints LSNs as PostgreSQL does and escapes the error") {
  modsync::capture::CaptureStats stats;
  const CaptureProbe probe("orders-to-shipping", "orders", stats);
  stats.state = State::kRetrying;
  stats.received_lsn = 0x16B3748;
  stats.confirmed_lsn = 0x16B3700;
  stats.events_updated = 4;
  stats.set_error("connection lost:\n\"server closed\"");
  const std::string error_at = std::to_string(stats.last_error_unix_ms());
  CHECK(stats.last_error_unix_ms() > 1764176400000);
  CHECK(probe.status_json() ==
        R"({"pair":"orders-to-shipping","module":"orders","state":"retrying",)"
        R"("received_lsn":"0/16B3748","confirmed_lsn":"0/16B3700","server_lsn":"0/16B3748",)"
        R"("lag_bytes":72,"wal_status":"","slot_exists":null,)"
        R"("events":{"c":0,"u":4,"d":0,"r":0,"t":0,"m":0},"transactions":0,"produced_bytes":0,)"
        R"("snapshot_rows":0,"snapshot_tables":[],"retries":0,"last_commit_unix_ms":0,)"
        R"("producer_queue":0,)"
        R"("delivery_stall_ms":0,"stalled":false,)"
        R"("last_error":"connection lost:\n\"server closed\"","last_error_unix_ms":)" +
            error_at + "}");
  stats.clear_error();
  CHECK(stats.last_error().empty());
  CHECK(stats.last_error_unix_ms() == 0);
}

namespace {

bool has_line(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("a lost slot reads lost=1 and keeps its lag and positions meaningful") {
  modsync::capture::CaptureStats stats;
  const CaptureProbe probe("p", "m", stats);
  stats.state = State::kFailed;  // the pipeline cannot start on a lost slot
  stats.server_wal_lsn = 0x9000000;
  modsync::capture::SlotView slot;
  slot.known = true;
  slot.exists = true;
  slot.wal_status = "lost";
  slot.confirmed_flush = 0x1000000;
  stats.set_slot(slot);
  MetricsWriter out;
  probe.write_metrics(out);
  const std::string text = out.render();
  const std::string l = "pair=\"p\",module=\"m\"";
  CHECK(has_line(text, "modsync_slot_wal_status{" + l + ",wal_status=\"lost\"} 1"));
  CHECK(has_line(text, "modsync_slot_wal_status{" + l + ",wal_status=\"reserved\"} 0"));
  CHECK(has_line(text, "modsync_source_confirmed_lsn{" + l + "} 16777216"));
  CHECK(has_line(text, "modsync_source_lag_bytes{" + l + "} " + std::to_string(0x8000000)));
  CHECK(has_line(text, "modsync_slot_safe_wal_size_bytes{" + l + "} 0"));
  const std::string json = probe.status_json();
  CHECK_THAT(json,
             Catch::Contains(R"("confirmed_lsn":"0/1000000","server_lsn":"0/9000000",)"
                             R"("lag_bytes":134217728,"wal_status":"lost","slot_exists":true)"));
}

TEST_CASE("events waiting for Kafka beyond the stall threshold show as stalled") {
  modsync::capture::CaptureStats stats;
  const CaptureProbe probe("p", "m", stats);
  stats.state = State::kStreaming;
  stats.stall_threshold_ms = 1000;
  stats.producer_queue = 7;
  const int64_t now = modsync::steady_now_ms();
  stats.deliveries.outstanding_since(now - 500);
  CHECK_FALSE(probe.delivery_stalled());
  CHECK_FALSE(probe.not_ready_reason().has_value());
  stats.deliveries.idle();
  stats.deliveries.outstanding_since(now - 5000);
  CHECK(probe.delivery_stalled());
  CHECK(probe.state_name() == "stalled");
  const auto reason = probe.not_ready_reason();
  REQUIRE(reason.has_value());
  CHECK_THAT(*reason, Catch::StartsWith("pair p: capture stalled: 7 event(s) have waited"));
  MetricsWriter out;
  probe.write_metrics(out);
  const std::string text = out.render();
  const std::string l = "pair=\"p\",module=\"m\"";
  CHECK(has_line(text, "modsync_kafka_delivery_stalled{" + l + "} 1"));
  CHECK(has_line(text, "modsync_capture_state{" + l + ",state=\"stalled\"} 1"));
  CHECK(has_line(text, "modsync_capture_state{" + l + ",state=\"streaming\"} 0"));
  // A delivery report restarts the clock; an empty queue stops it.
  stats.deliveries.progress(modsync::steady_now_ms());
  CHECK_FALSE(probe.delivery_stalled());
  stats.deliveries.idle();
  CHECK(probe.delivery_stall_ms() == 0);
}

TEST_CASE("heartbeats move the last commit timestamp of an idle source") {
  modsync::capture::CaptureStats stats;
  const CaptureProbe probe("p", "m", stats);
  stats.last_commit_unix_ms = 1764176400000;
  stats.last_heartbeat_unix_ms = 1764176460500;
  MetricsWriter out;
  probe.write_metrics(out);
  CHECK(has_line(out.render(),
                 "modsync_last_commit_timestamp_seconds{pair=\"p\",module=\"m\"} 1764176460.5"));
}

TEST_CASE("the probe registers its series with the registry and removes them") {
  modsync::capture::CaptureStats stats;
  stats.events_created = 2;
  modsync::observability::MetricsRegistry registry;
  {
    CaptureProbe probe("p", "m", stats);
    probe.setup_metrics(registry);
    CHECK(has_line(registry.render(),
                   "modsync_events_captured_total{pair=\"p\",module=\"m\",op=\"c\"} 2"));
    probe.remove_metrics();
    CHECK(registry.render().empty());
    probe.setup_metrics(registry);
  }
  CHECK(registry.render().empty());  // gone with the probe
}

TEST_CASE("capture metrics show each table's snapshot progress against its estimate") {
  modsync::capture::CaptureStats stats;
  stats.set_snapshot_table({"public.orders", 1200, 5000, false});
  stats.set_snapshot_table({"public.lines", 10, 10, true});
  stats.set_snapshot_table({"public.orders", 2400, 5000, false});  // replaces, not adds
  const CaptureProbe probe("p", "m", stats);
  MetricsWriter out;
  probe.write_metrics(out);
  const std::string text = out.render();
  const std::string l = "pair=\"p\",module=\"m\"";
  for (const std::string& line : std::vector<std::string>{
           "modsync_snapshot_table_rows{" + l + ",table=\"public.orders\"} 2400\n",
           "modsync_snapshot_table_rows_estimated{" + l + ",table=\"public.orders\"} 5000\n",
           "modsync_snapshot_table_rows{" + l + ",table=\"public.lines\"} 10\n",
       }) {
    INFO(line);
    CHECK(text.find(line) != std::string::npos);
  }
  CHECK(text.find("public.orders\"} 1200") == std::string::npos);
  // /status carries the same, for `modsync status`.
  CHECK_THAT(
      probe.status_json(),
      Catch::Contains(R"("snapshot_tables":[)"
                      R"({"table":"public.orders","rows":2400,"rows_estimated":5000,"done":false},)"
                      R"({"table":"public.lines","rows":10,"rows_estimated":10,"done":true}],)"));
}
