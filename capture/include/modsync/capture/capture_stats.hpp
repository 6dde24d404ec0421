#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

namespace modsync::capture {

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
  std::atomic<uint64_t> server_wal_lsn{0};  ///< pg_current_wal_lsn(), polled every few seconds
  std::atomic<uint64_t> producer_queue{0};  ///< events queued in or in flight to Kafka
  /// Updates whose unchanged TOASTed values were read from the source's current row.
  std::atomic<uint64_t> toast_fetches{0};
  /// Events larger than Kafka's message limit (each stops the pipeline until it is raised).
  std::atomic<uint64_t> oversized_events{0};

  void set_wal_status(std::string status) {
    std::lock_guard lock(mutex_);
    wal_status_ = std::move(status);
  }
  /// The slot's pg_replication_slots.wal_status ("" until first read).
  std::string wal_status() const {
    std::lock_guard lock(mutex_);
    return wal_status_;
  }

  void set_error(std::string message) {
    std::lock_guard lock(mutex_);
    last_error_ = std::move(message);
  }
  std::string last_error() const {
    std::lock_guard lock(mutex_);
    return last_error_;
  }

 private:
  mutable std::mutex mutex_;
  std::string last_error_;
  std::string wal_status_;
};

const char* to_string(CaptureStats::State state);

}  // namespace modsync::capture
