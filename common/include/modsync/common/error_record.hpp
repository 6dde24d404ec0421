#pragma once
// A pipeline's last error and when it happened, shared by the stats of capture and apply.

#include <cstdint>
#include <mutex>
#include <string>

#include "modsync/common/time.hpp"

namespace modsync {

/// The last error of a pipeline with its time (Unix ms), set by the supervisor and cleared when
/// the pipeline recovers. Thread-safe (a mutex: errors are rare, reads come from scrapes).
class ErrorRecord {
 public:
  /// Records `message` as happening now.
  void set(std::string message) {
    const int64_t now = now_unix_ms();
    std::lock_guard lock(mutex_);
    message_ = std::move(message);
    at_unix_ms_ = now;
  }
  void clear() {
    std::lock_guard lock(mutex_);
    message_.clear();
    at_unix_ms_ = 0;
  }
  /// "" when none.
  std::string message() const {
    std::lock_guard lock(mutex_);
    return message_;
  }
  /// 0 when none.
  int64_t at_unix_ms() const {
    std::lock_guard lock(mutex_);
    return at_unix_ms_;
  }

 private:
  mutable std::mutex mutex_;
  std::string message_;
  int64_t at_unix_ms_ = 0;
};

}  // namespace modsync
