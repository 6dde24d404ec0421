#pragma once
// A watch the pair's monitor thread runs every second over a projection's probe: it tells the
// start and end of a Kafka fetch stall, each with one log line, so the log says what the metrics
// say (docs/operations.md, "What the daemon watches while things fail").

#include <string>

#include "modsync/apply/apply_probe.hpp"
#include "modsync/config/config.hpp"

namespace modsync::apply {

/// Logs a warning when Kafka stops answering a projection's lag probe for kafka.stall_timeout
/// and a line when it answers again. One thread (the monitor) calls look().
class FetchStallWatch {
 public:
  void look(const config::PairConfig& pair, const std::string& topic, const ApplyProbe& probe);

 private:
  bool stalled_ = false;
};

}  // namespace modsync::apply
