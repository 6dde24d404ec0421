#pragma once
// Metrics, readiness and status of one projection, read from its ApplyStats at request time.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "modsync/apply/apply_stats.hpp"
#include "modsync/observability/metrics.hpp"

namespace modsync::observability {

/// A projection's lag as shown, at the moment of the call: the lag probe's last figures aged by
/// the time since Kafka last answered it.
struct ApplyLagView {
  std::vector<apply::PartitionLag> partitions;  ///< lag_events -1 while not fresh
  bool known = false;       ///< Kafka answered the probe within the last few seconds
  bool caught_up = false;   ///< known, and no partition behind
  int64_t lag_events = -1;  ///< -1 while not known
  /// Age of the oldest unapplied change (now − its source commit time); 0 when caught up; while
  /// Kafka does not answer, since the projection was last seen caught up (or since the oldest
  /// unapplied change last seen), so it grows through an outage.
  int64_t lag_ms = 0;
  int64_t fetch_stall_ms = 0;  ///< time since Kafka last answered, once beyond a probe period
  bool fetch_stalled = false;  ///< fetch_stall_ms ≥ stall_threshold_ms (partitions known)
};
ApplyLagView apply_lag_view(const apply::ApplyStats& stats);

/// The state shown in metrics and /status: the pipeline's state, or "stalled" over applying
/// while Kafka does not answer beyond kafka.stall_timeout.
std::string_view apply_state_name(const apply::ApplyStats& stats);

/// Writes modsync_rows_applied_total{pair,projection,op}, modsync_apply_events_total,
/// modsync_apply_batches_total, modsync_dead_letter_events_total, modsync_apply_retries_total,
/// modsync_apply_lag_seconds, modsync_apply_lag_events, modsync_apply_partition_lag_events
/// {partition}, modsync_apply_caught_up, modsync_apply_batch_latency_seconds,
/// modsync_kafka_fetch_stall_seconds, modsync_kafka_fetch_stalled,
/// modsync_apply_last_error_timestamp_seconds and modsync_apply_state{state}. Safe from any
/// thread (reads atomics and the stats' mutex-guarded lag).
void write_apply_metrics(MetricsWriter& out, std::string_view pair, std::string_view projection,
                         const apply::ApplyStats& stats);

/// Why the projection is not ready (failed, paused, retrying, starting), or nullopt.
std::optional<std::string> apply_not_ready_reason(std::string_view pair,
                                                  std::string_view projection,
                                                  const apply::ApplyStats& stats);

/// One JSON object describing the projection, for /status.
std::string apply_status_json(std::string_view pair, std::string_view projection,
                              const apply::ApplyStats& stats);

}  // namespace modsync::observability
