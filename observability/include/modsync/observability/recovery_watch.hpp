#pragma once
// The recovery watch the pair's monitor thread runs every second over each pipeline's stats: it
// tells a recovery with one log line, so the log says what the metrics say (docs/operations.md,
// "What the daemon watches while things fail"). The Kafka stall watches belong to the pipelines
// they watch (capture::DeliveryStallWatch, apply::FetchStallWatch).

#include <cstdint>
#include <string>

namespace modsync::observability {

/// Tells when a pipeline that had failed works again: healthy on two looks in a row with no
/// retry in between (one look could catch a run that fails a moment later). Then it logs
/// "<what> recovered after N retries; the last error (at T) was: …" and clears the error.
/// One thread (the monitor) calls look(); the stats may be written concurrently.
class RecoveryWatch {
 public:
  /// `stats`: a pipeline's stats (capture::CaptureStats, apply::ApplyStats): an atomic
  /// `retries`, last_error(), last_error_unix_ms() and clear_error(). Returns true when it
  /// logged a recovery (and cleared the error).
  template <typename Stats>
  bool look(const char* what, bool healthy, Stats& stats) {
    const uint64_t retries = stats.retries.load();
    if (!healthy_again(healthy, retries)) return false;
    const std::string error = stats.last_error();
    if (error.empty()) return false;
    tell(what, retries, stats.last_error_unix_ms(), error);
    stats.clear_error();
    return true;
  }

 private:
  /// Whether this look and the one before were healthy with no retry between them.
  bool healthy_again(bool healthy, uint64_t retries);
  static void tell(const char* what, uint64_t retries, int64_t error_unix_ms,
                   const std::string& error);

  bool healthy_before_ = false;
  uint64_t retries_before_ = 0;
};

}  // namespace modsync::observability
