#pragma once
// Runs a projection's BatchApplier on a thread of its own, so that the pipeline polls and
// decodes the next batch while the subscriber's backend merges the current one.

#include <condition_variable>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "batch_applier.hpp"

namespace modsync::apply {

/// One batch in flight at a time: submit() waits for the batch handed over before it, so
/// batches commit one after the other, in order, as with BatchApplier::apply. An error of a
/// batch (whatever apply() throws) is rethrown by the next submit() or drain(); no batch is
/// applied after a failed one. The destructor lets the batch in flight finish (its commit,
/// or its rollback) and joins the thread; it never throws. submit() and drain() are for one
/// thread; `applier` must outlive this object and be used by no other thread meanwhile, and
/// so must the consumer of the messages handed over (librdkafka's rd_kafka_destroy waits until
/// every message of the handle is freed).
class BatchApplierThread {
 public:
  /// `name`: the thread's name (thread_name.hpp); "" keeps the one it inherits.
  explicit BatchApplierThread(BatchApplier& applier, std::string name = {});
  ~BatchApplierThread();
  BatchApplierThread(const BatchApplierThread&) = delete;
  BatchApplierThread& operator=(const BatchApplierThread&) = delete;

  /// Waits until the batch handed over before is applied (rethrowing its error), then hands
  /// over `batch`, `entries` and `lines` (as for BatchApplier::apply) and returns at once.
  /// The arguments come back holding the buffers of the batch applied before, emptied, so
  /// their capacity is reused.
  void submit(std::vector<kafka::Message>& batch, std::vector<ProjectedEvent>& entries,
              pgsink::StageLines& lines);

  /// Waits until the batch handed over last is applied; rethrows its error.
  void drain();

  /// Rethrows the error of the batch handed over last if it failed; does not wait. For a
  /// caller with no next batch to submit, so that a failure does not wait for new events.
  void check();

 private:
  void run();
  /// With mutex_ held: waits until no batch is in flight; rethrows a batch's error.
  void wait_idle(std::unique_lock<std::mutex>& lock);

  BatchApplier& applier_;
  std::string name_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool busy_ = false;  ///< a batch is handed over and not yet applied
  bool stop_ = false;
  std::exception_ptr error_;
  // The batch in flight; touched by the caller only while !busy_.
  std::vector<kafka::Message> batch_;
  std::vector<ProjectedEvent> entries_;
  pgsink::StageLines lines_;
  std::thread thread_;
};

}  // namespace modsync::apply
