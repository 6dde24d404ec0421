#pragma once
// What the outside world sees of one projection: its metrics, readiness and status, read from
// its ApplyStats at request time. The probe lives beside what it measures and registers its
// series with observability's MetricsRegistry; docs/operations.md lists the metric names.
// (ApplyLagProbe is another thing: the thread that asks Kafka how far behind the projection is,
// and stores the answer in ApplyStats for this probe to show.)

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "modsync/apply/apply_stats.hpp"
#include "modsync/observability/metrics.hpp"

namespace modsync::apply {

/// A projection's lag as shown, at the moment of the call: the lag probe's last figures aged by
/// the time since Kafka last answered it.
struct ApplyLagView {
  std::vector<PartitionLag> partitions;  ///< lag_events -1 while not fresh
  bool known = false;                    ///< Kafka answered the probe within the last few seconds
  bool caught_up = false;                ///< known, and no partition behind
  int64_t lag_events = -1;               ///< -1 while not known
  /// Age of the oldest unapplied change (now − its source commit time); 0 when caught up; while
  /// Kafka does not answer, since the projection was last seen caught up (or since the oldest
  /// unapplied change last seen), so it grows through an outage.
  int64_t lag_ms = 0;
  int64_t fetch_stall_ms = 0;  ///< time since Kafka last answered, once beyond a probe period
  bool fetch_stalled = false;  ///< fetch_stall_ms ≥ stall_threshold_ms (partitions known)
};

/// One projection's probe, labelled {pair, projection}. It reads `stats`, which the pipeline
/// and the lag probe write concurrently; every member is safe from any thread.
class ApplyProbe {
 public:
  /// `stats` must outlive the probe. `projection` is the target table, qualified.
  ApplyProbe(std::string pair, std::string projection, const ApplyStats& stats);
  ApplyProbe(const ApplyProbe&) = delete;
  ApplyProbe& operator=(const ApplyProbe&) = delete;

  /// Registers the projection's series with `registry` (a collector running write_metrics);
  /// they leave it on remove_metrics() or with the probe. `registry` must outlive the
  /// registration.
  void setup_metrics(observability::MetricsRegistry& registry);
  /// Removes the series; once this returns the collector is not running. Safe to call twice.
  void remove_metrics() { registration_.reset(); }

  /// Writes modsync_rows_applied_total{pair,projection,op}, modsync_apply_events_total,
  /// modsync_apply_batches_total, modsync_dead_letter_events_total, modsync_apply_retries_total,
  /// modsync_apply_lag_seconds, modsync_apply_lag_events, modsync_apply_partition_lag_events
  /// {partition}, modsync_apply_caught_up, modsync_apply_batch_latency_seconds,
  /// modsync_kafka_fetch_stall_seconds, modsync_kafka_fetch_stalled,
  /// modsync_apply_last_error_timestamp_seconds and modsync_apply_state{state}.
  void write_metrics(observability::MetricsWriter& out) const;

  ApplyLagView lag_view() const;
  /// The state shown in metrics and /status: the pipeline's state, or "stalled" over applying
  /// while Kafka does not answer beyond kafka.stall_timeout.
  std::string_view state_name() const;

  /// Why the projection is not ready (failed, paused, retrying, starting), or nullopt.
  std::optional<std::string> not_ready_reason() const;

  /// One JSON object describing the projection, for /status.
  std::string status_json() const;

  const ApplyStats& stats() const { return stats_; }

 private:
  std::string pair_, projection_;
  const ApplyStats& stats_;
  observability::CollectorRegistration registration_;
};

}  // namespace modsync::apply
