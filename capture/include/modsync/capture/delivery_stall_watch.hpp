#pragma once
// A watch the pair's monitor thread runs every second over the capture's probe: it tells the
// start and end of a Kafka delivery stall, each with one log line, so the log says what the
// metrics say (docs/operations.md, "What the daemon watches while things fail").

#include <chrono>

#include "modsync/capture/capture_probe.hpp"
#include "modsync/config/config.hpp"

namespace modsync::capture {

/// Logs a warning when a capture's deliveries stall (CaptureProbe::delivery_stalled) and a line
/// when they flow again, or when the capture stopped and nothing is measured any more. One
/// thread (the monitor) calls look(); the stats may be written concurrently.
class DeliveryStallWatch {
 public:
  void look(const config::PairConfig& pair, const CaptureProbe& probe);

 private:
  bool stalled_ = false;
  std::chrono::steady_clock::time_point started_{};
};

}  // namespace modsync::capture
