#pragma once

#include <chrono>

namespace modsync::daemon {

/// How long the supervisor waits before restarting a pipeline that failed: 0.5 s, doubling
/// after each failure up to 30 s, and back to 0.5 s after an attempt that ran for at least
/// kHealthyRun before it failed. Without the reset a long-lived daemon ends at 30 s per retry
/// for good: one outage a week ago would slow the recovery from every later one. Not
/// thread-safe; one per supervised pipeline.
class RetryBackoff {
 public:
  static constexpr std::chrono::milliseconds kInitial{500};
  static constexpr std::chrono::milliseconds kMax{30'000};
  /// An attempt that ran this long worked: a failure after it starts a new series of retries.
  /// Longer than kMax, so an attempt that fails while it starts never counts as worked.
  static constexpr std::chrono::seconds kHealthyRun{60};

  /// The delay before the next attempt, given how long the one that just failed ran.
  std::chrono::milliseconds after_failure(std::chrono::steady_clock::duration ran_for);

 private:
  std::chrono::milliseconds next_ = kInitial;
};

}  // namespace modsync::daemon
