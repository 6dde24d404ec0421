#include "modsync/observability/capture_metrics.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include <fmt/format.h>

#include "modsync/common/lsn.hpp"
#include "text_escape.hpp"

namespace modsync::observability {

namespace {

using State = capture::CaptureStats::State;

constexpr std::array kStates = {State::kStarting, State::kSnapshotting, State::kStreaming,
                                State::kRetrying, State::kFailed,       State::kStopped};

uint64_t load(const std::atomic<uint64_t>& a) {
  return a.load(std::memory_order_relaxed);
}

/// The op letters of Debezium (c u d r t) plus "m" for logical decoding messages.
std::array<std::pair<const char*, uint64_t>, 6> events_by_op(const capture::CaptureStats& s) {
  return {{{"c", load(s.events_created)},
           {"u", load(s.events_updated)},
           {"d", load(s.events_deleted)},
           {"r", load(s.events_read)},
           {"t", load(s.events_truncated)},
           {"m", load(s.events_messages)}}};
}

}  // namespace

void write_capture_metrics(MetricsWriter& out, std::string_view pair, std::string_view module,
                           const capture::CaptureStats& stats) {
  const Labels labels{{"pair", std::string(pair)}, {"module", std::string(module)}};
  for (const auto& [op, n] : events_by_op(stats)) {
    Labels with_op = labels;
    with_op.push_back({"op", op});
    out.counter("modsync_events_captured_total",
                "Change events captured and acknowledged by Kafka, by Debezium op (m = logical "
                "message).",
                with_op, n);
  }
  out.counter("modsync_transactions_captured_total", "Source transactions captured.", labels,
              load(stats.transactions));
  out.counter("modsync_produced_bytes_total", "Bytes of event keys and values produced to Kafka.",
              labels, load(stats.bytes_produced));
  out.counter("modsync_snapshot_rows_total", "Rows read by the initial snapshot.", labels,
              load(stats.snapshot_rows));
  out.counter("modsync_capture_retries_total", "Capture pipeline restarts after an error.", labels,
              load(stats.retries));
  out.counter("modsync_toast_fetches_total",
              "Updates whose unchanged TOASTed values were read from the source's current row "
              "(tables without REPLICA IDENTITY FULL).",
              labels, load(stats.toast_fetches));
  out.counter("modsync_oversized_events_total",
              "Events larger than Kafka's message limit; each stops capture until the limit is "
              "raised.",
              labels, load(stats.oversized_events));

  const uint64_t received = load(stats.received_lsn);
  const uint64_t confirmed = load(stats.confirmed_lsn);
  out.gauge("modsync_source_received_lsn",
            "Last WAL position received from PostgreSQL, as a byte offset.", labels, received);
  out.gauge("modsync_source_confirmed_lsn",
            "Last WAL position confirmed to PostgreSQL (durable in Kafka and checkpoints), as a "
            "byte offset.",
            labels, confirmed);
  // The server's current WAL position when known (polled), else what the stream told us.
  const uint64_t server = std::max(load(stats.server_wal_lsn), received);
  out.gauge("modsync_source_lag_bytes",
            "WAL written on the source (pg_current_wal_lsn) but not yet confirmed by modsync, in "
            "bytes: what the slot holds back.",
            labels, server > confirmed ? server - confirmed : uint64_t{0});
  out.gauge("modsync_kafka_producer_queue_events",
            "Events queued in or in flight to Kafka, not yet acknowledged.", labels,
            load(stats.producer_queue));
  const std::string wal_status = stats.wal_status();
  for (const char* status : {"reserved", "extended", "unreserved", "lost"}) {
    Labels with_status = labels;
    with_status.push_back({"wal_status", status});
    out.gauge("modsync_slot_wal_status",
              "1 for the replication slot's current pg_replication_slots.wal_status, else 0.",
              with_status, wal_status == status ? uint64_t{1} : uint64_t{0});
  }
  out.gauge(
      "modsync_last_commit_timestamp_seconds",
      "Commit time of the last captured source transaction, Unix seconds (0 = none yet).", labels,
      static_cast<double>(stats.last_commit_unix_ms.load(std::memory_order_relaxed)) / 1000.0);

  const State current = stats.state.load(std::memory_order_relaxed);
  for (State s : kStates) {
    Labels with_state = labels;
    with_state.push_back({"state", capture::to_string(s)});
    out.gauge("modsync_capture_state", "1 for the capture pipeline's current state, else 0.",
              with_state, current == s ? uint64_t{1} : uint64_t{0});
  }
}

std::optional<std::string> capture_not_ready_reason(std::string_view pair,
                                                    const capture::CaptureStats& stats) {
  const State state = stats.state.load(std::memory_order_relaxed);
  switch (state) {
    case State::kSnapshotting:
    case State::kStreaming:
      return std::nullopt;
    case State::kStarting:
      return fmt::format("pair {}: capture starting", pair);
    case State::kStopped:
      return fmt::format("pair {}: capture stopped", pair);
    case State::kRetrying:
    case State::kFailed:
      return fmt::format("pair {}: capture {}: {} (retries: {})", pair, capture::to_string(state),
                         stats.last_error(), load(stats.retries));
  }
  return fmt::format("pair {}: capture in an unknown state", pair);
}

std::string capture_status_json(std::string_view pair, std::string_view module,
                                const capture::CaptureStats& stats) {
  const uint64_t received = load(stats.received_lsn);
  const uint64_t confirmed = load(stats.confirmed_lsn);
  std::string out = "{\"pair\":";
  detail::append_json_string(out, pair);
  out += ",\"module\":";
  detail::append_json_string(out, module);
  fmt::format_to(std::back_inserter(out),
                 ",\"state\":\"{}\",\"received_lsn\":\"{}\",\"confirmed_lsn\":\"{}\","
                 "\"lag_bytes\":{},\"events\":{{",
                 capture::to_string(stats.state.load(std::memory_order_relaxed)), Lsn(received),
                 Lsn(confirmed), received > confirmed ? received - confirmed : 0);
  bool first = true;
  for (const auto& [op, n] : events_by_op(stats)) {
    fmt::format_to(std::back_inserter(out), "{}\"{}\":{}", first ? "" : ",", op, n);
    first = false;
  }
  fmt::format_to(std::back_inserter(out),
                 "}},\"transactions\":{},\"produced_bytes\":{},\"snapshot_rows\":{},"
                 "\"retries\":{},\"last_commit_unix_ms\":{},\"last_error\":",
                 load(stats.transactions), load(stats.bytes_produced), load(stats.snapshot_rows),
                 load(stats.retries), stats.last_commit_unix_ms.load(std::memory_order_relaxed));
  detail::append_json_string(out, stats.last_error());
  out += '}';
  return out;
}

}  // namespace modsync::observability
