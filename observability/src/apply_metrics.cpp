#include "modsync/observability/apply_metrics.hpp"

#include <array>

#include <fmt/format.h>

#include "text_escape.hpp"

namespace modsync::observability {

namespace {

using State = apply::ApplyStats::State;

constexpr std::array kStates = {State::kStarting, State::kApplying, State::kPaused,
                                State::kRetrying, State::kFailed,   State::kStopped};

uint64_t load(const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); }

}  // namespace

void write_apply_metrics(MetricsWriter& out, std::string_view pair, std::string_view projection,
                         const apply::ApplyStats& stats) {
  const Labels labels{{"pair", std::string(pair)}, {"projection", std::string(projection)}};
  const std::array<std::pair<const char*, uint64_t>, 4> rows = {{
      {"upsert", load(stats.rows_upserted)},
      {"delete", load(stats.rows_deleted)},
      {"skip", load(stats.rows_skipped)},
      {"truncate", load(stats.truncates)},
  }};
  for (const auto& [op, n] : rows) {
    Labels with_op = labels;
    with_op.push_back({"op", op});
    out.counter("modsync_rows_applied_total",
                "Projection rows applied, by kind (skip = filtered out or op not applied).",
                with_op, n);
  }
  out.counter("modsync_apply_events_total", "Change events consumed and committed.", labels,
              load(stats.events_consumed));
  out.counter("modsync_apply_batches_total", "Sink transactions committed.", labels,
              load(stats.batches));
  out.counter("modsync_dead_letter_events_total", "Events sent to the dead-letter topic.", labels,
              load(stats.dead_lettered));
  out.counter("modsync_apply_retries_total", "Apply pipeline restarts after an error.", labels,
              load(stats.retries));
  out.gauge("modsync_apply_lag_seconds",
            "Source commit time to projection commit, for the last applied batch.", labels,
            static_cast<double>(stats.last_apply_lag_ms.load(std::memory_order_relaxed)) / 1000.0);
  const State current = stats.state.load(std::memory_order_relaxed);
  for (State s : kStates) {
    Labels with_state = labels;
    with_state.push_back({"state", apply::to_string(s)});
    out.gauge("modsync_apply_state", "1 for the projection's current state, else 0.", with_state,
              current == s ? uint64_t{1} : uint64_t{0});
  }
}

std::optional<std::string> apply_not_ready_reason(std::string_view pair,
                                                  std::string_view projection,
                                                  const apply::ApplyStats& stats) {
  const State state = stats.state.load(std::memory_order_relaxed);
  switch (state) {
    case State::kApplying:
      return std::nullopt;
    case State::kStarting:
    case State::kStopped:
      return fmt::format("pair {} projection {}: {}", pair, projection, apply::to_string(state));
    case State::kPaused:
    case State::kRetrying:
    case State::kFailed:
      return fmt::format("pair {} projection {}: {}: {} (retries: {})", pair, projection,
                         apply::to_string(state), stats.last_error(), load(stats.retries));
  }
  return fmt::format("pair {} projection {}: unknown state", pair, projection);
}

std::string apply_status_json(std::string_view pair, std::string_view projection,
                              const apply::ApplyStats& stats) {
  std::string out = "{\"pair\":";
  detail::append_json_string(out, pair);
  out += ",\"projection\":";
  detail::append_json_string(out, projection);
  fmt::format_to(std::back_inserter(out),
                 ",\"state\":\"{}\",\"events\":{},\"upserted\":{},\"deleted\":{},\"skipped\":{},"
                 "\"truncates\":{},\"batches\":{},\"dead_lettered\":{},\"retries\":{},"
                 "\"lag_ms\":{},\"last_error\":",
                 apply::to_string(stats.state.load(std::memory_order_relaxed)),
                 load(stats.events_consumed), load(stats.rows_upserted), load(stats.rows_deleted),
                 load(stats.rows_skipped), load(stats.truncates), load(stats.batches),
                 load(stats.dead_lettered), load(stats.retries),
                 stats.last_apply_lag_ms.load(std::memory_order_relaxed));
  detail::append_json_string(out, stats.last_error());
  out += '}';
  return out;
}

}  // namespace modsync::observability
