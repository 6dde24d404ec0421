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

/// Writes one pair's capture metrics, labelled {pair, module}:
///   modsync_events_captured_total{op="c|u|d|r|t|m"}, modsync_transactions_captured_total,
///   modsync_produced_bytes_total, modsync_snapshot_rows_total, modsync_capture_retries_total,
///   modsync_source_received_lsn, modsync_source_confirmed_lsn, modsync_source_lag_bytes,
///   modsync_last_commit_timestamp_seconds, modsync_capture_state{state=…} (1 for the current
///   state, 0 for the others).
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
///  "confirmed_lsn":"0/16B3700","lag_bytes":72,"events":{"c":1,"u":0,"d":0,"r":5,"t":0,"m":0},
///  "transactions":1,"produced_bytes":512,"snapshot_rows":5,"retries":0,
///  "last_commit_unix_ms":1764176400123,"last_error":""}
/// Thread-safe.
std::string capture_status_json(std::string_view pair, std::string_view module,
                                const capture::CaptureStats& stats);

}  // namespace modsync::observability
