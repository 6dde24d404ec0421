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
};

const char* to_string(CaptureStats::State state);

}  // namespace modsync::capture
