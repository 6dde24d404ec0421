#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "modsync/common/error_record.hpp"
#include "modsync/common/kafka_position.hpp"
#include "modsync/common/progress_watch.hpp"

namespace modsync::apply {

/// One partition of a projection's topic: where the projection stands and where Kafka is.
struct PartitionLag {
  kafka::Partition partition{0};
  /// Next offset to apply; a logical offset (negative) while none was applied.
  kafka::Offset next_offset;
  kafka::Offset high_watermark;  ///< offset of the next message written
  /// high_watermark − next_offset (from the low watermark when next_offset is logical), in
  /// events; -1 unknown.
  int64_t lag_events = -1;
};

/// What the lag probe last learnt from Kafka (ApplyLagProbe): the consumer lag per partition
/// and where the lag in seconds counts from. ApplyProbe::lag_view() turns it into the figures
/// shown, ageing them by the time since Kafka last answered.
struct ApplyLag {
  std::vector<PartitionLag> partitions;
  bool caught_up = false;  ///< every partition's next offset was its high watermark
  int64_t lag_events = 0;  ///< sum over partitions
  /// Unix ms the lag in seconds counts from: the source commit time of the oldest unapplied
  /// change while behind; when caught up, the time of that measurement. 0 = never measured.
  int64_t since_unix_ms = 0;
};

/// Live figures of one projection, written by its pipeline thread (counters, state, offsets)
/// and its pair's monitor thread (lag), and read by anyone.
struct ApplyStats {
  enum class State { kStarting, kApplying, kPaused, kRetrying, kFailed, kStopped };

  std::atomic<State> state{State::kStarting};
  std::atomic<uint64_t> events_consumed{0};
  std::atomic<uint64_t> rows_upserted{0}, rows_deleted{0}, rows_skipped{0}, truncates{0};
  std::atomic<uint64_t> batches{0};
  /// Lines that took the bulk path (COPY straight into the target, docs/projections.md,
  /// "Initial loads"), and segments it handed back to the merge (a key already there).
  std::atomic<uint64_t> rows_bulk_inserted{0}, bulk_fallbacks{0};
  std::atomic<uint64_t> dead_lettered{0};
  std::atomic<uint64_t> retries{0};
  std::atomic<int64_t> last_commit_unix_ms{0};  ///< source commit time of the last applied event
  /// Applied time − source commit time of the last applied batch's newest event: the latency of
  /// a batch, not the lag (which is ApplyLag::lag_ms).
  std::atomic<int64_t> last_apply_lag_ms{0};
  /// When Kafka last answered the lag probe (steady ms); the fetch stall is the time since.
  std::atomic<int64_t> kafka_answered_steady_ms{steady_now_ms()};
  /// Kafka not answering for this long is a stall (kafka.stall_timeout).
  std::atomic<int64_t> stall_threshold_ms{10000};

  /// Records an error and when it happened (now).
  void set_error(std::string message) { error_.set(std::move(message)); }
  void clear_error() { error_.clear(); }
  std::string last_error() const { return error_.message(); }
  int64_t last_error_unix_ms() const { return error_.at_unix_ms(); }

  /// The next offsets by partition, as the pipeline assigned or committed them.
  void set_next_offsets(const std::vector<std::pair<kafka::Partition, kafka::Offset>>& offsets);
  std::vector<std::pair<kafka::Partition, kafka::Offset>> next_offsets() const;
  /// Forgets partitions the pipeline no longer applies (given to another process).
  void drop_next_offsets(const std::vector<kafka::Partition>& partitions);

  void set_lag(ApplyLag lag);
  ApplyLag lag() const;

 private:
  mutable std::mutex mutex_;
  ErrorRecord error_;
  std::vector<std::pair<kafka::Partition, kafka::Offset>> next_offsets_;
  ApplyLag lag_;
};

const char* to_string(ApplyStats::State state);

}  // namespace modsync::apply
