#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

namespace modsync::apply {

/// Live figures of one projection, written by its pipeline thread and read by anyone.
struct ApplyStats {
  enum class State { kStarting, kApplying, kPaused, kRetrying, kFailed, kStopped };

  std::atomic<State> state{State::kStarting};
  std::atomic<uint64_t> events_consumed{0};
  std::atomic<uint64_t> rows_upserted{0}, rows_deleted{0}, rows_skipped{0}, truncates{0};
  std::atomic<uint64_t> batches{0};
  std::atomic<uint64_t> dead_lettered{0};
  std::atomic<uint64_t> retries{0};
  std::atomic<int64_t> last_commit_unix_ms{0};     ///< source commit time of the last applied event
  std::atomic<int64_t> last_apply_lag_ms{0};       ///< applied time − source commit time

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

const char* to_string(ApplyStats::State state);

}  // namespace modsync::apply
