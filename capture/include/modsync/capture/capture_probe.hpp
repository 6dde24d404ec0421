#pragma once
// What the outside world sees of a capture pipeline: its metrics, its readiness and its status,
// all read from the atomics of CaptureStats at request time (the pipeline's hot path does no
// extra work). The probe lives beside what it measures and registers its series with
// observability's MetricsRegistry; docs/operations.md lists the metric names.

#include <optional>
#include <string>
#include <string_view>

#include "modsync/capture/capture_stats.hpp"
#include "modsync/observability/metrics.hpp"

namespace modsync::capture {

/// A pair's WAL positions as shown: `confirmed` falls back to the slot's confirmed_flush_lsn
/// when the pipeline has confirmed nothing in this process; `server` is the source's current WAL
/// position (polled), at least `received`; lag_bytes = server − confirmed.
struct CapturePositions {
  uint64_t received = 0, confirmed = 0, server = 0, lag_bytes = 0;
};

/// One pair's capture probe, labelled {pair, module}. It reads `stats`, which the pipeline
/// thread writes concurrently; every member is safe from any thread.
class CaptureProbe {
 public:
  /// `stats` must outlive the probe.
  CaptureProbe(std::string pair, std::string module, const CaptureStats& stats);
  CaptureProbe(const CaptureProbe&) = delete;
  CaptureProbe& operator=(const CaptureProbe&) = delete;

  /// Registers the capture's series with `registry` (a collector running write_metrics); they
  /// leave it on remove_metrics() or with the probe. `registry` must outlive the registration.
  void setup_metrics(observability::MetricsRegistry& registry);
  /// Removes the series; once this returns the collector is not running. Safe to call twice.
  void remove_metrics() { registration_.reset(); }

  /// Writes the pair's capture metrics:
  ///   modsync_events_captured_total{op="c|u|d|r|t|m"}, modsync_transactions_captured_total,
  ///   modsync_produced_bytes_total, modsync_snapshot_rows_total, modsync_capture_retries_total,
  ///   modsync_source_received_lsn, modsync_source_confirmed_lsn, modsync_source_lag_bytes,
  ///   modsync_last_commit_timestamp_seconds, modsync_capture_last_error_timestamp_seconds,
  ///   modsync_kafka_producer_queue_events, modsync_kafka_delivery_stall_seconds,
  ///   modsync_kafka_delivery_stalled, modsync_slot_wal_status{wal_status=…},
  ///   modsync_slot_safe_wal_size_bytes, modsync_capture_state{state=…} (1 for the current
  ///   state, 0 for the others; "stalled" included).
  void write_metrics(observability::MetricsWriter& out) const;

  CapturePositions positions() const;
  /// How long produced events have waited without a delivery report (0 when none waits).
  int64_t delivery_stall_ms() const;
  /// True while snapshotting or streaming with a delivery stall beyond stall_threshold_ms.
  bool delivery_stalled() const;
  /// The state shown in metrics and /status: the pipeline's state, or "stalled" over
  /// snapshotting/streaming during a delivery stall.
  std::string_view state_name() const;

  /// Why the pair is not ready, or nullopt when it is (snapshotting or streaming). The reason
  /// names the pair and, when retrying or failed, its last error, e.g.
  /// "pair orders-to-shipping: capture failed: slot … (retries: 3)".
  std::optional<std::string> not_ready_reason() const;

  /// The pair's capture status as a JSON object (for /status), e.g.
  /// {"pair":"orders-to-shipping","module":"orders","state":"streaming",
  ///  "received_lsn":"0/16B3748","confirmed_lsn":"0/16B3700","server_lsn":"0/16B3748",
  ///  "lag_bytes":72,"wal_status":"reserved","slot_exists":true,
  ///  "events":{"c":1,"u":0,"d":0,"r":5,"t":0,"m":0},"transactions":1,"produced_bytes":512,
  ///  "snapshot_rows":5,"retries":0,"last_commit_unix_ms":1764176400123,"producer_queue":0,
  ///  "delivery_stall_ms":0,"stalled":false,"last_error":"","last_error_unix_ms":0}
  std::string status_json() const;

  const CaptureStats& stats() const { return stats_; }

 private:
  std::string pair_, module_;
  const CaptureStats& stats_;
  observability::CollectorRegistration registration_;
};

}  // namespace modsync::capture
