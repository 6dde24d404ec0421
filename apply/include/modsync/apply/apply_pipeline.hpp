#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "modsync/apply/apply_stats.hpp"
#include "modsync/checkpoint/checkpoint_store.hpp"
#include "modsync/config/config.hpp"

namespace modsync::apply {

/// How many workers apply a projection whose topic has `partitions` partitions:
/// sink.workers when set (`configured` > 0), else min(partitions, cores / `projections` (at
/// least 1), 4), `projections` being the sink's; never more than the partitions, since a
/// worker applies whole partitions.
size_t apply_worker_count(uint64_t configured, int partitions, size_t projections);

/// One projection: change events from a Kafka topic → filtered, mapped rows in a subscriber
/// table, effectively once.
///
/// run() checks the target table against the projection, then consumes the topic from the
/// offsets the subscriber database recorded with the last applied batch (the beginning when
/// none), and applies batches bounded by sink.batch_rows and sink.batch_time, each in one
/// transaction that also records the batch's offsets. Poison events go to the dead-letter
/// topic; the projection continues. Errors throw modsync::Error; a new run() resumes exactly
/// after the last committed batch. With several workers (sink.workers, apply_worker_count) each
/// applies its share of the partitions over its own connection, on its own thread; a failure
/// of one stops all. Threads: run() blocks its thread; stats are readable anywhere.
class ApplyPipeline {
 public:
  /// `pair.sink` must be set and `projection` one of its projections; all must outlive this.
  ApplyPipeline(const config::PairConfig& pair, const config::Projection& projection,
                checkpoint::CheckpointStore& store, ApplyStats& stats);
  ~ApplyPipeline();
  ApplyPipeline(const ApplyPipeline&) = delete;
  ApplyPipeline& operator=(const ApplyPipeline&) = delete;

  void run(const std::atomic<bool>& stop);

  /// The id under which the projection's offsets are stored: "<daemon id>/<schema.table>".
  static std::string projection_id(const config::PairConfig& pair,
                                   const config::Projection& projection);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace modsync::apply
