#include "modsync/capture/delivery_stall_watch.hpp"

#include <spdlog/spdlog.h>

namespace modsync::capture {

void DeliveryStallWatch::look(const config::PairConfig& pair, const CaptureProbe& probe) {
  const CaptureStats& stats = probe.stats();
  const bool stalled = probe.delivery_stalled();
  if (stalled && !stalled_) {
    spdlog::warn(
        "Kafka stall: {} event(s) have waited {} ms for an acknowledgement from the brokers "
        "({}); nothing past them is confirmed to PostgreSQL meanwhile, so the slot holds WAL. "
        "Fix: check the brokers' health and the network to them",
        stats.producer_queue.load(), probe.delivery_stall_ms(), pair.kafka.brokers);
    started_ = std::chrono::steady_clock::now();
  } else if (!stalled && stalled_) {
    const auto lasted = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started_);
    const auto state = stats.state.load();
    if (state == CaptureStats::State::kStreaming || state == CaptureStats::State::kSnapshotting) {
      spdlog::info(
          "Kafka stall over: the brokers acknowledge events again after ~{} ms (recovered)",
          lasted.count() + stats.stall_threshold_ms.load());
    } else {
      spdlog::warn(
          "Kafka stall no longer measured: the capture stopped ({}; see its error) and resends "
          "what was in flight from its checkpoint",
          to_string(state));
    }
  }
  stalled_ = stalled;
}

}  // namespace modsync::capture
