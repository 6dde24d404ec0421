#include "modsync/capture/capture_probe.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <utility>

#include <fmt/format.h>

#include "modsync/common/json_string.hpp"
#include "modsync/common/lsn.hpp"

namespace modsync::capture {

namespace {

using State = CaptureStats::State;
using observability::Labels;

constexpr std::array kStates = {State::kStarting, State::kSnapshotting, State::kStreaming,
                                State::kRetrying, State::kFailed,       State::kStopped};

uint64_t load(const std::atomic<uint64_t>& a) {
  return a.load(std::memory_order_relaxed);
}

/// The op letters of Debezium (c u d r t) plus "m" for logical decoding messages.
std::array<std::pair<const char*, uint64_t>, 6> events_by_op(const CaptureStats& s) {
  return {{{"c", load(s.events_created)},
           {"u", load(s.events_updated)},
           {"d", load(s.events_deleted)},
           {"r", load(s.events_read)},
           {"t", load(s.events_truncated)},
           {"m", load(s.events_messages)}}};
}

}  // namespace

CaptureProbe::CaptureProbe(std::string pair, std::string module, const CaptureStats& stats)
    : pair_(std::move(pair)), module_(std::move(module)), stats_(stats) {}

void CaptureProbe::setup_metrics(observability::MetricsRegistry& registry) {
  registration_ = observability::CollectorRegistration(
      registry, [this](observability::MetricsWriter& out) { write_metrics(out); });
}

int64_t CaptureProbe::delivery_stall_ms() const {
  return stats_.deliveries.stalled_for_ms(steady_now_ms());
}

bool CaptureProbe::delivery_stalled() const {
  const State state = stats_.state.load(std::memory_order_relaxed);
  if (state != State::kStreaming && state != State::kSnapshotting) return false;
  return delivery_stall_ms() >= stats_.stall_threshold_ms.load(std::memory_order_relaxed);
}

std::string_view CaptureProbe::state_name() const {
  if (delivery_stalled()) return "stalled";
  const State state = stats_.state.load(std::memory_order_relaxed);
  // Each attempt after a failure starts over in kStarting; with the error not yet recovered
  // from, that attempt is a retry, not a fresh start.
  if (state == State::kStarting && !stats_.last_error().empty()) return "retrying";
  return to_string(state);
}

CapturePositions CaptureProbe::positions() const {
  const CaptureStats& stats = stats_;
  CapturePositions p;
  p.received = load(stats.received_lsn);
  p.confirmed = load(stats.confirmed_lsn);
  const SlotView slot = stats.slot();
  // Before the pipeline confirmed anything in this process (it cannot stream: a lost slot, a
  // retry loop), the slot's own confirmed_flush_lsn is the truth.
  if (p.confirmed == 0 && slot.known && slot.exists) p.confirmed = slot.confirmed_flush;
  p.received = std::max(p.received, p.confirmed);
  p.server = std::max(load(stats.server_wal_lsn), p.received);
  p.lag_bytes = p.server > p.confirmed ? p.server - p.confirmed : 0;
  return p;
}

void CaptureProbe::write_metrics(observability::MetricsWriter& out) const {
  const CaptureStats& stats = stats_;
  const Labels labels{{"pair", pair_}, {"module", module_}};
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
  for (const auto& t : stats.snapshot_tables()) {
    Labels with_table = labels;
    with_table.push_back({"table", t.table});
    out.gauge("modsync_snapshot_table_rows", "Rows of the table its snapshot has read.",
              with_table, t.rows);
    out.gauge("modsync_snapshot_table_rows_estimated",
              "Rows the catalog estimates the table holds (pg_class.reltuples, at least the rows "
              "read): the snapshot's goal.",
              with_table, t.estimated_rows);
  }
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

  const CapturePositions pos = positions();
  out.gauge("modsync_source_received_lsn",
            "Last WAL position received from PostgreSQL, as a byte offset.", labels, pos.received);
  out.gauge("modsync_source_confirmed_lsn",
            "Last WAL position confirmed to PostgreSQL (durable in Kafka and checkpoints), as a "
            "byte offset.",
            labels, pos.confirmed);
  out.gauge("modsync_source_lag_bytes",
            "WAL written on the source (pg_current_wal_lsn) but not yet confirmed by modsync, in "
            "bytes: what the slot holds back.",
            labels, pos.lag_bytes);
  out.gauge("modsync_kafka_producer_queue_events",
            "Events queued in or in flight to Kafka, not yet acknowledged.", labels,
            load(stats.producer_queue));
  const int64_t stall_ms = delivery_stall_ms();
  out.gauge("modsync_kafka_delivery_stall_seconds",
            "How long produced events have waited with no delivery report from Kafka (0 when "
            "nothing waits).",
            labels, static_cast<double>(stall_ms) / 1000.0);
  out.gauge("modsync_kafka_delivery_stalled",
            "1 while events have waited longer than kafka.stall_timeout for Kafka's "
            "acknowledgement, else 0.",
            labels, delivery_stalled() ? uint64_t{1} : uint64_t{0});
  const SlotView slot = stats.slot();
  out.gauge("modsync_slot_safe_wal_size_bytes",
            "pg_replication_slots.safe_wal_size: WAL that may still be written before the slot "
            "is lost (-1 when unlimited or unknown; 0 when lost).",
            labels,
            slot.wal_status == "lost" ? int64_t{0}
            : slot.known              ? slot.safe_wal_size
                                      : int64_t{-1});
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
      "Source time the capture has read up to: the commit time of the last captured "
      "transaction or the time of the last heartbeat read back, Unix seconds (0 = none yet).",
      labels,
      static_cast<double>(std::max(stats.last_commit_unix_ms.load(std::memory_order_relaxed),
                                   stats.last_heartbeat_unix_ms.load(std::memory_order_relaxed))) /
          1000.0);
  out.gauge("modsync_capture_last_error_timestamp_seconds",
            "When the capture's last error happened, Unix seconds (0 = none since it last "
            "recovered).",
            labels, static_cast<double>(stats.last_error_unix_ms()) / 1000.0);

  const std::string_view current = state_name();
  std::vector<std::string_view> states;
  for (State s : kStates) states.push_back(to_string(s));
  states.push_back("stalled");
  out.state_gauge("modsync_capture_state", "1 for the capture pipeline's current state, else 0.",
                  labels, states, current);
}

std::optional<std::string> CaptureProbe::not_ready_reason() const {
  const CaptureStats& stats = stats_;
  const std::string_view pair = pair_;
  const State state = stats.state.load(std::memory_order_relaxed);
  switch (state) {
    case State::kSnapshotting:
    case State::kStreaming:
      if (delivery_stalled()) {
        return fmt::format(
            "pair {}: capture stalled: {} event(s) have waited {} ms with no acknowledgement "
            "from Kafka (kafka.stall_timeout {} ms)",
            pair, load(stats.producer_queue), delivery_stall_ms(),
            stats.stall_threshold_ms.load(std::memory_order_relaxed));
      }
      return std::nullopt;
    case State::kStarting:
      if (const std::string error = stats.last_error(); !error.empty()) {
        return fmt::format("pair {}: capture retrying: {} (retries: {})", pair, error,
                           load(stats.retries));
      }
      return fmt::format("pair {}: capture starting", pair);
    case State::kStopped:
      return fmt::format("pair {}: capture stopped", pair);
    case State::kRetrying:
    case State::kFailed:
      return fmt::format("pair {}: capture {}: {} (retries: {})", pair, to_string(state),
                         stats.last_error(), load(stats.retries));
  }
  return fmt::format("pair {}: capture in an unknown state", pair);
}

std::string CaptureProbe::status_json() const {
  const CaptureStats& stats = stats_;
  const CapturePositions pos = positions();
  const SlotView slot = stats.slot();
  std::string out = "{\"pair\":";
  append_json_string(pair_, out);
  out += ",\"module\":";
  append_json_string(module_, out);
  fmt::format_to(std::back_inserter(out),
                 ",\"state\":\"{}\",\"received_lsn\":\"{}\",\"confirmed_lsn\":\"{}\","
                 "\"server_lsn\":\"{}\",\"lag_bytes\":{},\"wal_status\":",
                 state_name(), Lsn(pos.received), Lsn(pos.confirmed), Lsn(pos.server),
                 pos.lag_bytes);
  append_json_string(stats.wal_status(), out);
  fmt::format_to(std::back_inserter(out), ",\"slot_exists\":{},\"events\":{{",
                 slot.known ? (slot.exists ? "true" : "false") : "null");
  bool first = true;
  for (const auto& [op, n] : events_by_op(stats)) {
    fmt::format_to(std::back_inserter(out), "{}\"{}\":{}", first ? "" : ",", op, n);
    first = false;
  }
  fmt::format_to(std::back_inserter(out),
                 "}},\"transactions\":{},\"produced_bytes\":{},\"snapshot_rows\":{},",
                 load(stats.transactions), load(stats.bytes_produced), load(stats.snapshot_rows));
  // Per table, rows read against the catalog's estimate: `modsync status` shows the progress.
  out += "\"snapshot_tables\":[";
  first = true;
  for (const auto& t : stats.snapshot_tables()) {
    out += first ? "{\"table\":" : ",{\"table\":";
    first = false;
    append_json_string(t.table, out);
    fmt::format_to(std::back_inserter(out), ",\"rows\":{},\"rows_estimated\":{},\"done\":{}}}",
                   t.rows, t.estimated_rows, t.done ? "true" : "false");
  }
  fmt::format_to(std::back_inserter(out),
                 "],\"retries\":{},\"last_commit_unix_ms\":{},\"producer_queue\":{},"
                 "\"delivery_stall_ms\":{},\"stalled\":{},\"last_error\":",
                 load(stats.retries), stats.last_commit_unix_ms.load(std::memory_order_relaxed),
                 load(stats.producer_queue), delivery_stall_ms(),
                 delivery_stalled() ? "true" : "false");
  append_json_string(stats.last_error(), out);
  fmt::format_to(std::back_inserter(out), ",\"last_error_unix_ms\":{}}}",
                 stats.last_error_unix_ms());
  return out;
}

}  // namespace modsync::capture
