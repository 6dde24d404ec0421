#include "modsync/apply/apply_lag_probe.hpp"

#include <algorithm>
#include <vector>

#include <simdjson.h>
#include <spdlog/spdlog.h>

#include "modsync/common/error.hpp"
#include "modsync/common/progress_watch.hpp"
#include "modsync/common/time.hpp"
#include "modsync/kafka/consumer.hpp"
#include "modsync/kafka/producer.hpp"
#include "modsync/kafka/settings.hpp"

namespace modsync::apply {

namespace {

constexpr auto kQueryTimeout = std::chrono::milliseconds(2000);

/// source.ts_ms of a change event, else the record's Kafka timestamp.
int64_t event_commit_time(const kafka::Message& m) {
  if (m.has_value()) {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    int64_t ts = 0;
    if (parser.parse(m.value().data(), m.value().size()).get(doc) == simdjson::SUCCESS &&
        doc["source"]["ts_ms"].get(ts) == simdjson::SUCCESS && ts > 0) {
      return ts;
    }
  }
  return std::max<int64_t>(0, m.timestamp_ms());
}

}  // namespace

ApplyLagProbe::ApplyLagProbe(const config::PairConfig& pair, const config::Projection& projection,
                             ApplyStats& stats)
    : pair_(pair),
      stats_(stats),
      topic_(config::projection_topic(pair, projection)),
      last_caught_up_unix_ms_(now_unix_ms()) {}

ApplyLagProbe::~ApplyLagProbe() = default;

int64_t ApplyLagProbe::commit_time_at(kafka::Partition partition, kafka::Offset offset) {
  if (auto it = commit_times_.find(partition);
      it != commit_times_.end() && it->second.first == offset) {
    return it->second.second;
  }
  int64_t ts = 0;
  try {
    if (!consumer_) {
      // It reads one event per lagging partition: a small fetch and prefetch keep a catch-up
      // from costing the probe megabytes per read.
      const kafka::KafkaSettings settings =
          kafka::settings_from(pair_.kafka, {{"socket.timeout.ms", "5000"},
                                             {"max.partition.fetch.bytes", "65536"},
                                             {"queued.max.messages.kbytes", "1024"}});
      // Assign only, no commits: the probes of the process share one client (their settings
      // differ from the projections' consumers').
      consumer_ = std::make_unique<kafka::Consumer>(kafka::Consumer::shared(settings));
    }
    consumer_->assign(topic_, partition, offset);
    std::vector<kafka::Message> got;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (ts == 0 && std::chrono::steady_clock::now() < deadline) {
      got.clear();
      consumer_->poll_batch(16, 200, got);
      for (const auto& m : got) {
        if (m.partition() == partition && m.offset() == offset) {
          ts = event_commit_time(m);
        }
      }
    }
    consumer_->assign(std::vector<kafka::TopicPartitionOffset>{});  // stop fetching meanwhile
  } catch (const Error& e) {
    spdlog::debug("lag probe: cannot read topic {} partition {} offset {}: {}", topic_, partition,
                  offset, e.what());
  }
  if (ts > 0) commit_times_[partition] = {offset, ts};
  return ts;
}

void ApplyLagProbe::poll() {
  const auto offsets = stats_.next_offsets();
  if (offsets.empty()) {
    // Not assigned (yet, or any more: the consumer group gave every partition to another
    // replica): nothing to measure against. The figures of partitions applied before would go
    // stale and, Kafka's last answer ageing, read as a stall for good.
    if (!stats_.lag().partitions.empty()) stats_.set_lag(ApplyLag{});
    return;
  }
  ApplyLag lag;
  std::vector<kafka::Offset> low;
  try {
    if (!metadata_) {
      // A broker that stops answering holds a query for socket.timeout.ms (60 s by default),
      // which would hold up the daemon's shutdown as long; kafka.properties may still set it.
      // The probes of every pair of a cluster share this client (not the capture's: a 5 s
      // socket timeout there would fail produce requests a slow broker still serves).
      metadata_ = std::make_unique<kafka::Producer>(kafka::Producer::shared(
          kafka::settings_from(pair_.kafka, {{"socket.timeout.ms", "5000"}}),
          [](uint64_t, const kafka::DeliveryResult&) {}));
    }
    for (const auto& [partition, next] : offsets) {
      const auto [lo, hi] = metadata_->watermarks(topic_, partition, kQueryTimeout);
      // A logical next offset (none applied yet) reads from the partition's start.
      const kafka::Offset from = next.value < 0 ? lo : next;
      lag.partitions.push_back({partition, next, hi, std::max<int64_t>(0, hi.value - from.value)});
      low.push_back(lo);
    }
  } catch (const Error& e) {
    spdlog::debug("lag probe for topic {}: {}", topic_, e.what());
    return;  // no answer: the readers age the last figures
  }
  stats_.kafka_answered_steady_ms.store(steady_now_ms());
  const int64_t now = now_unix_ms();
  lag.caught_up = true;
  int64_t oldest = 0;
  for (size_t i = 0; i < lag.partitions.size(); ++i) {
    const auto& p = lag.partitions[i];
    lag.lag_events += p.lag_events;
    if (p.lag_events == 0) continue;
    lag.caught_up = false;
    const kafka::Offset at = p.next_offset.value < 0 ? low[i] : p.next_offset;
    if (const int64_t ts = commit_time_at(p.partition, at); ts > 0) {
      oldest = oldest == 0 ? ts : std::min(oldest, ts);
    }
  }
  if (lag.caught_up) {
    last_caught_up_unix_ms_ = now;
    commit_times_.clear();
    lag.since_unix_ms = now;
    if (consumer_ && ++caught_up_polls_ >= kIdlePolls) consumer_.reset();
  } else {
    caught_up_polls_ = 0;
    // Unreadable oldest event: everything unapplied is newer than the last time it was caught up.
    lag.since_unix_ms = oldest > 0 ? oldest : last_caught_up_unix_ms_;
  }
  stats_.set_lag(std::move(lag));
}

}  // namespace modsync::apply
