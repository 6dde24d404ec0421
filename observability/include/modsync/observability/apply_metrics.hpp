#pragma once
// Metrics, readiness and status of one projection, read from its ApplyStats at request time.

#include <optional>
#include <string>
#include <string_view>

#include "modsync/apply/apply_stats.hpp"
#include "modsync/observability/metrics.hpp"

namespace modsync::observability {

/// Writes modsync_rows_applied_total{pair,projection,op}, modsync_apply_batches_total,
/// modsync_dead_letter_events_total, modsync_apply_retries_total, modsync_apply_lag_seconds and
/// modsync_apply_state{state}. Safe from any thread (reads atomics).
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
