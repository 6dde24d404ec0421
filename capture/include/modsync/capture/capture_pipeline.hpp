#pragma once

#include <atomic>
#include <memory>

#include "modsync/capture/capture_stats.hpp"
#include "modsync/checkpoint/checkpoint_store.hpp"
#include "modsync/config/config.hpp"

namespace modsync::capture {

/// One source module's capture: PostgreSQL slot → change events on Kafka.
///
/// run() checks the source, creates the publication and slot if missing, takes the initial
/// snapshot if configured and not yet done, then streams until `stop` becomes true. Each run
/// resumes from the checkpoint store; every failure throws modsync::Error (retriable or fatal)
/// after which a new run() resumes without loss: nothing is confirmed to PostgreSQL before
/// Kafka acknowledged it and the store recorded it (see DurabilityTracker).
/// Threads: run() blocks its calling thread; `stats` may be read from any thread.
class CapturePipeline {
 public:
  /// `pair.source` must be set. `store` and `stats` must outlive the pipeline.
  CapturePipeline(const config::PairConfig& pair, checkpoint::CheckpointStore& store,
                  CaptureStats& stats);
  ~CapturePipeline();
  CapturePipeline(const CapturePipeline&) = delete;
  CapturePipeline& operator=(const CapturePipeline&) = delete;

  void run(const std::atomic<bool>& stop);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace modsync::capture
