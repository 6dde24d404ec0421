#pragma once
// What the outside world sees of a capture pipeline: its metrics, its readiness and its status,
// all read from the atomics of capture::CaptureStats at request time (the pipeline's hot path
// does no extra work). docs/operations.md lists the metric names.

#include <optional>
#include <string>
#include <string_view>

#include "modsync/capture/capture_stats.hpp"
#include "modsync/observability/metrics.hpp"

namespace modsync::observability {

/// A pair's WAL positions as shown: `confirmed` falls back to the slot's confirmed_flush_lsn
/// when the pipeline has confirmed nothing in this process; `server` is the source's current WAL
/// position (polled), at least `received`; lag_bytes = server − confirmed.
struct CapturePositions {
  uint64_t received = 0, confirmed = 0, server = 0, lag_bytes = 0;
};
CapturePositions capture_positions(const capture::CaptureStats& stats);

/// How long produced events have waited without a delivery report (0 when none waits).
int64_t capture_delivery_stall_ms(const capture::CaptureStats& stats);
/// True while snapshotting or streaming with a delivery stall beyond stall_threshold_ms.
bool capture_delivery_stalled(const capture::CaptureStats& stats);
/// The state shown in metrics and /status: the pipeline's state, or "stalled" over
/// snapshotting/streaming during a delivery stall.
std::string_view capture_state_name(const capture::CaptureStats& stats);

/// Writes one pair's capture metrics, labelled {pair, module}:
///   modsync_events_captured_total{op="c|u|d|r|t|m"}, modsync_transactions_captured_total,
///   modsync_produced_bytes_total, modsync_snapshot_rows_total, modsync_capture_retries_total,
///   modsync_source_received_lsn, modsync_source_confirmed_lsn, modsync_source_lag_bytes,
///   modsync_last_commit_timestamp_seconds, modsync_capture_last_error_timestamp_seconds,
///   modsync_kafka_producer_queue_events, modsync_kafka_delivery_stall_seconds,
///   modsync_kafka_delivery_stalled, modsync_slot_wal_status{wal_status=…},
///   modsync_slot_safe_wal_size_bytes, modsync_capture_state{state=…} (1 for the current state,
///   0 for the others; "stalled" included).
/// Call from a MetricsRegistry collector; `stats` must outlive the collector (remove the
/// collector before destroying it). Safe while the pipeline thread writes `stats`.
void write_capture_metrics(MetricsWriter& out, std::string_view pair, std::string_view module,
                           const capture::CaptureStats& stats);

/// Why the pair is not ready, or nullopt when it is (snapshotting or streaming). The reason names
/// the pair and, when retrying or failed, its last error, e.g.
/// "pair orders-to-shipping: capture failed: slot … (retries: 3)". Thread-safe.
std::optional<std::string> capture_not_ready_reason(std::string_view pair,
                                                    const capture::CaptureStats& stats);

/// One pair's capture status as a JSON object (for /status), e.g.
/// {"pair":"orders-to-shipping","module":"orders","state":"streaming","received_lsn":"0/16B3748",
///  "confirmed_lsn":"0/16B3700","server_lsn":"0/16B3748","lag_bytes":72,
///  "wal_status":"reserved","slot_exists":true,"events":{"c":1,"u":0,"d":0,"r":5,"t":0,"m":0},
///  "transactions":1,"produced_bytes":512,"snapshot_rows":5,"retries":0,
///  "last_commit_unix_ms":1764176400123,"producer_queue":0,"delivery_stall_ms":0,
///  "stalled":false,"last_error":"","last_error_unix_ms":0}
/// Thread-safe.
std::string capture_status_json(std::string_view pair, std::string_view module,
                                const capture::CaptureStats& stats);

}  // namespace modsync::observability
