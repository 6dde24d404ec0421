#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "modsync/common/error_record.hpp"
#include "modsync/common/progress_watch.hpp"

namespace modsync::capture {

/// What the slot monitor (SlotMonitor) last read of the pair's replication slot.
struct SlotView {
  bool known = false;            ///< the source answered the last poll
  bool exists = false;           ///< the slot is in pg_replication_slots
  std::string wal_status;        ///< reserved, extended, unreserved, lost ("" when unknown)
  uint64_t confirmed_flush = 0;  ///< confirmed_flush_lsn (raw), 0 when NULL
  uint64_t restart_lsn = 0;      ///< restart_lsn (raw), 0 when NULL (a lost slot)
  int64_t safe_wal_size = -1;    ///< bytes; -1 when NULL (unlimited, or lost)
  bool active = false;
};

/// Live figures of one capture pipeline, written by its thread and read by anyone (status,
/// metrics). Counters only grow; LSNs are raw values.
struct CaptureStats {
  enum class State { kStarting, kSnapshotting, kStreaming, kRetrying, kFailed, kStopped };

  std::atomic<State> state{State::kStarting};
  std::atomic<uint64_t> events_created{0}, events_updated{0}, events_deleted{0}, events_read{0},
      events_truncated{0}, events_messages{0};
  std::atomic<uint64_t> transactions{0};
  std::atomic<uint64_t> bytes_produced{0};
  std::atomic<uint64_t> received_lsn{0};   ///< last WAL position received from the server
  std::atomic<uint64_t> confirmed_lsn{0};  ///< last LSN confirmed to PostgreSQL
  std::atomic<uint64_t> snapshot_rows{0};
  std::atomic<uint64_t> retries{0};
  std::atomic<int64_t> last_commit_unix_ms{0};
  /// When the capture last read one of its own heartbeat messages (Unix ms): the source time
  /// it has read up to on an idle source.
  std::atomic<int64_t> last_heartbeat_unix_ms{0};
  std::atomic<uint64_t> server_wal_lsn{0};  ///< pg_current_wal_lsn(), polled every few seconds
  std::atomic<uint64_t> producer_queue{0};  ///< events queued in or in flight to Kafka
  /// Updates whose unchanged TOASTed values were read from the source's current row.
  std::atomic<uint64_t> toast_fetches{0};
  /// Events larger than Kafka's message limit (each stops the pipeline until it is raised).
  std::atomic<uint64_t> oversized_events{0};
  /// Kafka delivery progress, updated by the producer (Producer::watch_deliveries).
  ProgressWatch deliveries;
  /// Events waiting this long with no delivery report count as a stall (kafka.stall_timeout).
  std::atomic<int64_t> stall_threshold_ms{10000};

  void set_wal_status(std::string status) {
    std::lock_guard lock(mutex_);
    wal_status_ = std::move(status);
  }
  /// The slot's pg_replication_slots.wal_status ("" until first read).
  std::string wal_status() const {
    std::lock_guard lock(mutex_);
    return slot_.known && !slot_.wal_status.empty() ? slot_.wal_status : wal_status_;
  }

  /// A table's snapshot progress: rows read (resumed snapshots count the rows of earlier runs),
  /// and the catalog's estimate of its rows (pg_class.reltuples, at least the rows read).
  struct SnapshotTable {
    std::string table;  ///< "schema.table"
    uint64_t rows = 0, estimated_rows = 0;
    bool done = false;
  };
  void set_snapshot_table(SnapshotTable t) {
    std::lock_guard lock(mutex_);
    for (auto& s : snapshot_tables_) {
      if (s.table == t.table) {
        s = std::move(t);
        return;
      }
    }
    snapshot_tables_.push_back(std::move(t));
  }
  std::vector<SnapshotTable> snapshot_tables() const {
    std::lock_guard lock(mutex_);
    return snapshot_tables_;
  }

  void set_slot(SlotView slot) {
    std::lock_guard lock(mutex_);
    slot_ = std::move(slot);
  }
  SlotView slot() const {
    std::lock_guard lock(mutex_);
    return slot_;
  }

  /// Records an error and when it happened (now).
  void set_error(std::string message) { error_.set(std::move(message)); }
  void clear_error() { error_.clear(); }
  std::string last_error() const { return error_.message(); }
  int64_t last_error_unix_ms() const { return error_.at_unix_ms(); }

 private:
  mutable std::mutex mutex_;
  ErrorRecord error_;
  std::string wal_status_;
  SlotView slot_;
  std::vector<SnapshotTable> snapshot_tables_;
};

const char* to_string(CaptureStats::State state);

}  // namespace modsync::capture
