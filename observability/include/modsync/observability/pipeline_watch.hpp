#pragma once
// Watches the pair's monitor thread runs every second over a pipeline's stats: they tell a
// recovery and the start and end of a Kafka stall, each with one log line, so the log says what
// the metrics say (docs/operations.md, "What the daemon watches while things fail").

#include <chrono>
#include <cstdint>
#include <string>

#include "modsync/apply/apply_stats.hpp"
#include "modsync/capture/capture_stats.hpp"
#include "modsync/config/config.hpp"

namespace modsync::observability {

/// Tells when a pipeline that had failed works again: healthy on two looks in a row with no
/// retry in between (one look could catch a run that fails a moment later). Then it logs
/// "<what> recovered after N retries; the last error (at T) was: …" and clears the error.
/// One thread (the monitor) calls look(); the stats may be written concurrently.
class RecoveryWatch {
 public:
  /// Returns true when it logged a recovery (and cleared the error).
  bool look(const char* what, bool healthy, capture::CaptureStats& stats);
  bool look(const char* what, bool healthy, apply::ApplyStats& stats);

 private:
  template <typename Stats>
  bool look_at(const char* what, bool healthy, Stats& stats);

  bool healthy_before_ = false;
  uint64_t retries_before_ = 0;
};

/// Logs a warning when a capture's deliveries stall (capture_delivery_stalled) and a line when
/// they flow again, or when the capture stopped and nothing is measured any more.
class DeliveryStallWatch {
 public:
  void look(const config::PairConfig& pair, const capture::CaptureStats& stats);

 private:
  bool stalled_ = false;
  std::chrono::steady_clock::time_point started_{};
};

/// Logs a warning when Kafka stops answering a projection's lag probe for kafka.stall_timeout
/// and a line when it answers again.
class FetchStallWatch {
 public:
  void look(const config::PairConfig& pair, const std::string& topic,
            const apply::ApplyStats& stats);

 private:
  bool stalled_ = false;
};

}  // namespace modsync::observability
