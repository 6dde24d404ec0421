#pragma once
// Applies one batch of projected events to the subscriber database with its offsets, narrowing
// a failing batch down to its poison events, which go to the dead-letter topic.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "event_projector.hpp"
#include "modsync/apply/apply_stats.hpp"
#include "modsync/checkpoint/checkpoint_store.hpp"
#include "modsync/common/error.hpp"
#include "modsync/kafka/consumer.hpp"
#include "modsync/kafka/producer.hpp"
#include "modsync/pgsink/projection_writer.hpp"
#include "modsync/pgsink/stage_lines.hpp"

namespace modsync::apply {

/// The stage lines of a batch that one merge statement can apply. The merge keeps only the
/// newest line per key, so a line that needs the row its key's earlier lines build (a partial
/// update of unchanged TOAST columns, or a delete under on_delete: soft) cannot join a segment
/// that already holds its key: that segment is merged first. Keys are compared by hash; a
/// collision only merges a segment early, which is always correct.
class MergeSegment {
 public:
  explicit MergeSegment(bool soft_deletes) : soft_deletes_(soft_deletes) {}

  /// Whether `line` (a kLine event) must wait until the current segment is merged.
  bool must_follow(const ProjectedEvent& line) const;
  /// Adds `line`, whose text is in `lines`.
  void add(const ProjectedEvent& line, const pgsink::StageLines& lines);
  std::string_view text() const { return text_; }
  /// Whether no two lines added have the same key (hash): the merge can then skip its
  /// newest-per-key sort. Equal hashes of different keys only take the sorting merge.
  bool distinct_keys() const { return distinct_keys_; }
  void clear();

 private:
  bool soft_deletes_;
  std::string text_;
  std::unordered_set<uint64_t> keys_;
  bool distinct_keys_ = true;
};

/// Where a batch applier reports and what it writes under.
struct BatchApplierOptions {
  std::string context;        ///< log and error prefix: sink, projection, topic
  std::string projection_id;  ///< ApplyPipeline::projection_id
  std::string dlq_topic;      ///< `{prefix}.dlq.{daemon.id}`
  bool soft_deletes = false;  ///< on_delete: soft
  /// Run in each batch transaction once its rows are merged, before dead letters and offsets:
  /// throws to roll the batch back (the pipeline's partition claims check, PartitionClaims).
  std::function<void()> check_ownership;
};

/// One projection's batch applier (docs/projections.md, "Batches, effectively once" and
/// "Poison events and dead letters"). apply() runs a batch in one subscriber transaction:
/// stage lines merged in key-safe segments, truncates in order, then the dead letters, flushed
/// to Kafka before the batch's next offsets are written and committed; then the offsets are
/// copied to RocksDB and the stats counted. A data error (SQLSTATE classes 22, 23) splits the
/// batch in halves until the one event at fault is dead-lettered; any other error rolls back
/// and throws. Not thread-safe; `writer`, `store` and `stats` must outlive it.
class BatchApplier {
 public:
  BatchApplier(BatchApplierOptions options, const kafka::KafkaSettings& settings,
               pgsink::ProjectionWriter& writer, checkpoint::CheckpointStore& store,
               ApplyStats& stats);

  /// Applies `entries`, the projections of `batch` (same order, same size) whose lines are in
  /// `lines`. An entry found poisonous is replaced by a dead letter.
  void apply(const std::vector<kafka::Message>& batch, std::vector<ProjectedEvent>& entries,
             const pgsink::StageLines& lines);

  /// The dead-letter producer, which also answers the pipeline's topic metadata queries.
  kafka::Producer& producer() { return *dlq_; }

 private:
  void apply_range(size_t from, size_t to);
  void send_dead_letter(const kafka::Message& m, const std::string& why);
  void count(size_t from, size_t to);

  BatchApplierOptions options_;
  pgsink::ProjectionWriter& writer_;
  checkpoint::CheckpointStore& store_;
  ApplyStats& stats_;
  std::unique_ptr<kafka::Producer> dlq_;
  std::optional<Error> dlq_error_;

  // The batch being applied.
  const std::vector<kafka::Message>* batch_ = nullptr;
  std::vector<ProjectedEvent>* entries_ = nullptr;
  const pgsink::StageLines* lines_ = nullptr;
  MergeSegment segment_;
};

}  // namespace modsync::apply
