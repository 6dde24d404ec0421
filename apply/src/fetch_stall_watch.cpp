#include "modsync/apply/fetch_stall_watch.hpp"

#include <spdlog/spdlog.h>

namespace modsync::apply {

void FetchStallWatch::look(const config::PairConfig& pair, const std::string& topic,
                           const ApplyProbe& probe) {
  const ApplyLagView view = probe.lag_view();
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

}  // namespace modsync::apply
