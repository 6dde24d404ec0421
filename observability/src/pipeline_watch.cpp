#include "modsync/observability/pipeline_watch.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "modsync/common/time.hpp"
#include "modsync/observability/apply_metrics.hpp"
#include "modsync/observability/capture_metrics.hpp"

namespace modsync::observability {

template <typename Stats>
bool RecoveryWatch::look_at(const char* what, bool healthy, Stats& stats) {
  const uint64_t retries = stats.retries.load();
  const bool again = healthy && healthy_before_ && retries == retries_before_;
  healthy_before_ = healthy;
  retries_before_ = retries;
  if (!again) return false;
  const std::string error = stats.last_error();
  if (error.empty()) return false;
  spdlog::info("{} recovered after {} retries; the last error (at {}) was: {}", what, retries,
               format_rfc3339_ms(stats.last_error_unix_ms()), error);
  stats.clear_error();
  return true;
}

bool RecoveryWatch::look(const char* what, bool healthy, capture::CaptureStats& stats) {
  return look_at(what, healthy, stats);
}

bool RecoveryWatch::look(const char* what, bool healthy, apply::ApplyStats& stats) {
  return look_at(what, healthy, stats);
}

void DeliveryStallWatch::look(const config::PairConfig& pair, const capture::CaptureStats& stats) {
  const bool stalled = capture_delivery_stalled(stats);
  if (stalled && !stalled_) {
    spdlog::warn(
        "Kafka stall: {} event(s) have waited {} ms for an acknowledgement from the brokers "
        "({}); nothing past them is confirmed to PostgreSQL meanwhile, so the slot holds WAL. "
        "Fix: check the brokers' health and the network to them",
        stats.producer_queue.load(), capture_delivery_stall_ms(stats), pair.kafka.brokers);
    started_ = std::chrono::steady_clock::now();
  } else if (!stalled && stalled_) {
    const auto lasted = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started_);
    const auto state = stats.state.load();
    if (state == capture::CaptureStats::State::kStreaming ||
        state == capture::CaptureStats::State::kSnapshotting) {
      spdlog::info(
          "Kafka stall over: the brokers acknowledge events again after ~{} ms (recovered)",
          lasted.count() + stats.stall_threshold_ms.load());
    } else {
      spdlog::warn(
          "Kafka stall no longer measured: the capture stopped ({}; see its error) and resends "
          "what was in flight from its checkpoint",
          capture::to_string(state));
    }
  }
  stalled_ = stalled;
}

void FetchStallWatch::look(const config::PairConfig& pair, const std::string& topic,
                           const apply::ApplyStats& stats) {
  const ApplyLagView view = apply_lag_view(stats);
  if (view.fetch_stalled && !stalled_) {
    spdlog::warn(
        "Kafka stall: the brokers ({}) have not answered for {} ms (topic {}): the projection "
        "cannot fetch new events. Fix: check the brokers' health and the network to them",
        pair.kafka.brokers, view.fetch_stall_ms, topic);
  } else if (!view.fetch_stalled && stalled_) {
    spdlog::info("Kafka stall over: topic {} answers again; the projection fetches (recovered)",
                 topic);
  }
  stalled_ = view.fetch_stalled;
}

}  // namespace modsync::observability
