#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace modsync::daemon {

/// A stop request that pipelines poll (flag()) and that interrupts backoff sleeps.
/// Thread-safe.
class StopSignal {
 public:
  void request();
  const std::atomic<bool>& flag() const { return flag_; }
  /// Sleeps up to `d`, waking early when stop is requested.
  void sleep_for(std::chrono::milliseconds d);

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::atomic<bool> flag_{false};
};

/// Runs `run_once` until it returns (a clean stop) or `stop` is requested, restarting it with
/// exponential backoff after any failure (RetryBackoff: 0.5 s doubling to 30 s, reset by an
/// attempt that ran for a minute): every pipeline resumes from
/// its checkpoints, so a retry never loses or reorders events. `report(error, retriable)`
/// records each failure; it should set the state before the error, so a reader never sees the
/// new error beside the old healthy state. Each failure is logged as `<label> retrying: …` or
/// `<label> failed: …` (a fatal error: it needs an operator, but is tried again all the same).
/// Blocks the calling thread.
/// `fields`, when set, gives log fields (name, value) added to each failure line, read at the
/// time of the failure (the capture's confirmed LSN).
void supervise(
    const std::string& label, StopSignal& stop, const std::function<void()>& run_once,
    const std::function<void(const std::string&, bool)>& report,
    const std::function<std::vector<std::pair<std::string, std::string>>()>& fields = {});

}  // namespace modsync::daemon
