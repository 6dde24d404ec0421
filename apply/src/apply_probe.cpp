#include "modsync/apply/apply_probe.hpp"

#include <algorithm>
#include <array>
#include <chrono>

#include <fmt/format.h>

#include "modsync/common/json_string.hpp"
#include "modsync/common/time.hpp"

namespace modsync::apply {

namespace {

using State = ApplyStats::State;
using observability::Labels;

constexpr std::array kStates = {State::kStarting, State::kApplying, State::kPaused,
                                State::kRetrying, State::kFailed,   State::kStopped};

uint64_t load(const std::atomic<uint64_t>& a) {
  return a.load(std::memory_order_relaxed);
}

}  // namespace

ApplyProbe::ApplyProbe(std::string pair, std::string projection, const ApplyStats& stats)
    : pair_(std::move(pair)), projection_(std::move(projection)), stats_(stats) {}

void ApplyProbe::setup_metrics(observability::MetricsRegistry& registry) {
  registration_ = observability::CollectorRegistration(
      registry, [this](observability::MetricsWriter& out) { write_metrics(out); });
}

ApplyLagView ApplyProbe::lag_view() const {
  const ApplyStats& stats = stats_;
  // The probe asks every second; an answer older than this is no longer the present.
  constexpr int64_t kFreshMs = 3000;
  const ApplyLag lag = stats.lag();
  const int64_t now = now_unix_ms();
  const int64_t silent_ms =
      std::max<int64_t>(0, steady_now_ms() - stats.kafka_answered_steady_ms.load());
  ApplyLagView v;
  v.partitions = lag.partitions;
  v.known = lag.since_unix_ms > 0 && silent_ms < kFreshMs;
  v.caught_up = v.known && lag.caught_up;
  v.lag_events = v.known ? lag.lag_events : -1;
  if (!v.known) {
    for (auto& p : v.partitions) p.lag_events = -1;
  }
  v.lag_ms =
      v.caught_up || lag.since_unix_ms == 0 ? 0 : std::max<int64_t>(0, now - lag.since_unix_ms);
  v.fetch_stalled = !lag.partitions.empty() && silent_ms >= stats.stall_threshold_ms.load();
  // A stall threshold under the freshness window (kafka.stall_timeout: 1s) reports its silence
  // too: the stall's log line and reason said "for 0 ms".
  v.fetch_stall_ms = silent_ms < kFreshMs && !v.fetch_stalled ? 0 : silent_ms;
  return v;
}

std::string_view ApplyProbe::state_name() const {
  const State state = stats_.state.load(std::memory_order_relaxed);
  if (state == State::kApplying && lag_view().fetch_stalled) return "stalled";
  return to_string(state);
}

void ApplyProbe::write_metrics(observability::MetricsWriter& out) const {
  const ApplyStats& stats = stats_;
  const Labels labels{{"pair", pair_}, {"projection", projection_}};
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
  out.counter("modsync_apply_bulk_rows_total",
              "Stage lines COPYed straight into the target (the bulk path for new rows).", labels,
              load(stats.rows_bulk_inserted));
  out.counter("modsync_apply_bulk_fallbacks_total",
              "Segments the bulk path handed back to the merge (a key already in the target).",
              labels, load(stats.bulk_fallbacks));
  out.counter("modsync_dead_letter_events_total", "Events sent to the dead-letter topic.", labels,
              load(stats.dead_lettered));
  out.counter("modsync_apply_retries_total", "Apply pipeline restarts after an error.", labels,
              load(stats.retries));
  const ApplyLagView lag = lag_view();
  out.gauge("modsync_apply_lag_seconds",
            "Age of the oldest change not yet applied (now - its source commit time); 0 when "
            "caught up. While Kafka does not answer, the time since the projection was last "
            "seen caught up.",
            labels, static_cast<double>(lag.lag_ms) / 1000.0);
  out.gauge("modsync_apply_lag_events",
            "Events on Kafka not yet applied: the sum over partitions of high watermark - next "
            "offset (-1 while unknown).",
            labels, lag.lag_events);
  for (const auto& p : lag.partitions) {
    Labels with_partition = labels;
    with_partition.push_back({"partition", std::to_string(p.partition.value)});
    out.gauge("modsync_apply_partition_lag_events",
              "Events of one partition not yet applied: high watermark - next offset (-1 while "
              "unknown).",
              with_partition, p.lag_events);
  }
  out.gauge("modsync_apply_caught_up",
            "1 when every partition's next offset is its high watermark, else 0 (also while "
            "unknown).",
            labels, lag.caught_up ? uint64_t{1} : uint64_t{0});
  out.gauge("modsync_apply_batch_latency_seconds",
            "Source commit time to projection commit, for the newest event of the last applied "
            "batch.",
            labels,
            static_cast<double>(stats.last_apply_lag_ms.load(std::memory_order_relaxed)) / 1000.0);
  out.gauge("modsync_kafka_fetch_stall_seconds",
            "How long Kafka has not answered the projection's watermark queries (0 when it "
            "answers).",
            labels, static_cast<double>(lag.fetch_stall_ms) / 1000.0);
  out.gauge("modsync_kafka_fetch_stalled",
            "1 while Kafka has not answered for longer than kafka.stall_timeout, else 0.", labels,
            lag.fetch_stalled ? uint64_t{1} : uint64_t{0});
  out.gauge("modsync_apply_last_error_timestamp_seconds",
            "When the projection's last error happened, Unix seconds (0 = none since it last "
            "recovered).",
            labels, static_cast<double>(stats.last_error_unix_ms()) / 1000.0);
  const std::string_view current = state_name();
  std::vector<std::string_view> states;
  for (State s : kStates) states.push_back(to_string(s));
  states.push_back("stalled");
  out.state_gauge("modsync_apply_state", "1 for the projection's current state, else 0.", labels,
                  states, current);
}

std::optional<std::string> ApplyProbe::not_ready_reason() const {
  const ApplyStats& stats = stats_;
  const std::string_view pair = pair_, projection = projection_;
  const State state = stats.state.load(std::memory_order_relaxed);
  switch (state) {
    case State::kApplying: {
      const ApplyLagView lag = lag_view();
      if (!lag.fetch_stalled) return std::nullopt;
      return fmt::format(
          "pair {} projection {}: stalled: Kafka has not answered for {} ms; the projection "
          "cannot fetch (lag {} ms)",
          pair, projection, lag.fetch_stall_ms, lag.lag_ms);
    }
    case State::kStarting:
    case State::kStopped:
      return fmt::format("pair {} projection {}: {}", pair, projection, to_string(state));
    case State::kPaused:
    case State::kRetrying:
    case State::kFailed:
      return fmt::format("pair {} projection {}: {}: {} (retries: {})", pair, projection,
                         to_string(state), stats.last_error(), load(stats.retries));
  }
  return fmt::format("pair {} projection {}: unknown state", pair, projection);
}

std::string ApplyProbe::status_json() const {
  const ApplyStats& stats = stats_;
  const ApplyLagView lag = lag_view();
  std::string out = "{\"pair\":";
  append_json_string(pair_, out);
  out += ",\"projection\":";
  append_json_string(projection_, out);
  fmt::format_to(std::back_inserter(out),
                 ",\"state\":\"{}\",\"events\":{},\"upserted\":{},\"deleted\":{},\"skipped\":{},"
                 "\"truncates\":{},\"batches\":{},\"dead_lettered\":{},\"retries\":{},"
                 "\"lag_ms\":{},\"lag_events\":{},\"caught_up\":{},\"partitions\":[",
                 state_name(), load(stats.events_consumed), load(stats.rows_upserted),
                 load(stats.rows_deleted), load(stats.rows_skipped), load(stats.truncates),
                 load(stats.batches), load(stats.dead_lettered), load(stats.retries), lag.lag_ms,
                 lag.lag_events, lag.caught_up ? "true" : "false");
  bool first = true;
  for (const auto& p : lag.partitions) {
    fmt::format_to(std::back_inserter(out),
                   "{}{{\"partition\":{},\"next_offset\":{},\"high_watermark\":{},\"lag\":{}}}",
                   first ? "" : ",", p.partition, p.next_offset, p.high_watermark, p.lag_events);
    first = false;
  }
  fmt::format_to(std::back_inserter(out),
                 "],\"batch_latency_ms\":{},\"fetch_stall_ms\":{},\"stalled\":{},"
                 "\"last_error\":",
                 stats.last_apply_lag_ms.load(std::memory_order_relaxed), lag.fetch_stall_ms,
                 lag.fetch_stalled ? "true" : "false");
  append_json_string(stats.last_error(), out);
  fmt::format_to(std::back_inserter(out), ",\"last_error_unix_ms\":{}}}",
                 stats.last_error_unix_ms());
  return out;
}

}  // namespace modsync::apply
