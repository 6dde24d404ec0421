#pragma once
// When a batch being filled is full, by rows or by bytes, and how much the next poll may take.

#include <cstddef>
#include <vector>

#include "modsync/kafka/consumer.hpp"

namespace modsync::apply {

/// A batch closes at `max_rows` events or `max_bytes` of their keys and values (sink.batch_rows
/// and sink.batch_bytes), whichever comes first; it always holds at least one event. room()
/// asks the consumer for no more events than the byte budget has room for at the average event
/// size seen so far, so that one poll of wide events overshoots it by little. One object per
/// pipeline, used by its thread only; it keeps the average across batches.
class BatchBudget {
 public:
  BatchBudget(size_t max_rows, size_t max_bytes);

  /// Records the batch being filled: `rows` events of `bytes` in all (the whole batch, counted
  /// again after each poll: a rebalance may have removed events from it).
  void count(size_t rows, size_t bytes);
  /// The batch is full: it holds max_rows events or max_bytes.
  bool full() const { return rows_ >= max_rows_ || (rows_ > 0 && bytes_ >= max_bytes_); }
  /// How many events the next poll may append (0 when full).
  size_t room() const;

 private:
  /// Before any event was seen the average size is unknown: the first poll takes this many.
  static constexpr size_t kFirstPoll = 100;

  size_t max_rows_;
  size_t max_bytes_;
  size_t rows_ = 0;
  size_t bytes_ = 0;
  size_t average_ = 0;  ///< bytes per event of the events counted last; 0 = none seen yet
};

/// The bytes `batch` holds in keys and values.
size_t batch_bytes(const std::vector<kafka::Message>& batch);

}  // namespace modsync::apply
