#pragma once
// How far a projection is behind its topic, measured from outside the apply pipeline, so it
// stays truthful while the pipeline is down: consumer lag in events per partition (high
// watermark − next offset) and the age of the oldest unapplied change.

#include <chrono>
#include <map>
#include <memory>

#include "modsync/apply/apply_stats.hpp"
#include "modsync/common/kafka_position.hpp"
#include "modsync/config/config.hpp"

namespace modsync::kafka {
class Consumer;
class Producer;
}

namespace modsync::apply {

/// One projection's lag probe. poll() asks Kafka for each partition's watermarks (through the
/// process's shared producer for probes, not the pipeline's consumer), reads the oldest
/// unapplied event of each lagging partition once per offset to learn its source commit time
/// (with a consumer of its own, made when a partition lags and dropped after kIdlePolls polls
/// caught up, so an idle projection costs no client), and stores the result in
/// ApplyStats::set_lag(). The next offsets come from ApplyStats::next_offsets(), which the
/// pipeline publishes on assignment and after each commit.
///
/// When every partition answered it records the time in ApplyStats::kafka_answered_steady_ms;
/// when Kafka does not answer it records nothing, and the readers age the last figures (a
/// stall, a growing lag in seconds).
///
/// Threads: poll() from one thread of its own: a broker that stopped answering can block it for
/// librdkafka's request timeout (about a minute), far beyond the query's nominal timeout. It
/// never throws.
class ApplyLagProbe {
 public:
  /// `pair`, `projection` and `stats` must outlive the probe.
  ApplyLagProbe(const config::PairConfig& pair, const config::Projection& projection,
                ApplyStats& stats);
  ~ApplyLagProbe();
  ApplyLagProbe(const ApplyLagProbe&) = delete;
  ApplyLagProbe& operator=(const ApplyLagProbe&) = delete;

  void poll();

  /// Caught-up polls after which the probe's consumer is dropped.
  static constexpr int kIdlePolls = 30;

 private:
  /// Source commit time (Unix ms) of the event at `offset` of `partition`; 0 when unreadable.
  int64_t commit_time_at(kafka::Partition partition, kafka::Offset offset);

  const config::PairConfig& pair_;
  ApplyStats& stats_;
  std::string topic_;
  std::unique_ptr<kafka::Producer> metadata_;  ///< an owner on the shared probe producer
  std::unique_ptr<kafka::Consumer> consumer_;  ///< only while a partition lags
  int caught_up_polls_ = 0;
  /// partition → (offset, its source commit time in Unix ms)
  std::map<kafka::Partition, std::pair<kafka::Offset, int64_t>> commit_times_;
  int64_t last_caught_up_unix_ms_ = 0;
};

}  // namespace modsync::apply
