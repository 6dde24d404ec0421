#pragma once
// How long work has waited without progress: the producer's deliveries, a probe's queries.

#include <atomic>
#include <cstdint>

#include "modsync/common/time.hpp"

namespace modsync {

/// Since when outstanding work (messages awaiting a delivery report) has made no progress.
/// One writer thread calls outstanding()/progress()/idle(); any thread may read stalled_for_ms().
/// Lock-free: a relaxed atomic, cheap enough for a produce() call.
class ProgressWatch {
 public:
  /// Work was queued: starts the clock unless work is already waiting (the clock is read only
  /// then, so a hot loop pays one relaxed load).
  void outstanding() noexcept {
    if (waiting_since_ms_.load(std::memory_order_relaxed) == 0) {
      waiting_since_ms_.store(steady_now_ms(), std::memory_order_relaxed);
    }
  }
  /// As outstanding(), with the time given (for tests).
  void outstanding_since(int64_t now_ms) noexcept {
    if (waiting_since_ms_.load(std::memory_order_relaxed) == 0) {
      waiting_since_ms_.store(now_ms, std::memory_order_relaxed);
    }
  }
  /// Some of the work completed (e.g. a delivery report): the clock restarts while more waits.
  void progress(int64_t now_ms) noexcept {
    if (waiting_since_ms_.load(std::memory_order_relaxed) != 0) {
      waiting_since_ms_.store(now_ms, std::memory_order_relaxed);
    }
  }
  /// Nothing waits any more.
  void idle() noexcept { waiting_since_ms_.store(0, std::memory_order_relaxed); }

  /// How long work has waited without progress; 0 when nothing waits.
  int64_t stalled_for_ms(int64_t now_ms) const noexcept {
    const int64_t since = waiting_since_ms_.load(std::memory_order_relaxed);
    return since == 0 || now_ms < since ? 0 : now_ms - since;
  }

 private:
  std::atomic<int64_t> waiting_since_ms_{0};
};

}  // namespace modsync
