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
/// collision only merges a segment early, or takes the merge instead of insert_new, which is
/// always correct.
///
/// A segment also says whether it can take the bulk path, ProjectionWriter::insert_new
/// (docs/projections.md, "Initial loads"): into a keyed target when every line is a new row
/// (ProjectedEvent::new_row) of a key no other line has; into an append-only target when no
/// two appended lines have the same position. Lines are held as ranges of the batch's
/// StageLines and copied out once, in the layout the path taken reads.
///
/// Given the stage indexes of a keyed target's key values, a line whose key (compared as its
/// COPY text, as the merge compares it) is already held supersedes the older of the two, which
/// is then left out of the text: a backlog holds a row's insert, update and delete in one
/// batch, and the subscriber reads the newest line only. The newer line keeps the older one's
/// standing as a new row, so that an insert and its later updates still take the bulk path or
/// the merge's insert first. Not thread-safe.
class MergeSegment {
 public:
  /// `append_only`, `positioned`: the target's (ProjectionWriter). `key_values`: the stage
  /// indexes of its key values (ProjectionWriter::key_values); none: lines are never dropped.
  explicit MergeSegment(bool soft_deletes, bool append_only = false, bool positioned = true,
                        std::vector<size_t> key_values = {})
      : soft_deletes_(soft_deletes),
        append_only_(append_only),
        positioned_(positioned),
        key_values_(std::move(key_values)) {}

  /// Whether `line` (a kLine event) must wait until the current segment is merged.
  bool must_follow(const ProjectedEvent& line) const;
  /// Adds `line`, whose text is in `lines`; `lines` must hold it until clear().
  void add(const ProjectedEvent& line, const pgsink::StageLines& lines);
  /// The lines as a stage COPY (StageLines), in the order added; a keyed target's new rows
  /// (ProjectedEvent::new_row) as StageOp::kInsert lines.
  std::string_view text();
  /// Whether no two lines of text() have the same key (hash): the merge can then skip its
  /// newest-per-key pass. Equal hashes of different keys only take that pass.
  bool distinct_keys() const { return distinct_keys_; }
  /// Whether the segment may go to ProjectionWriter::insert_new (see the class comment).
  /// Append-only: sorts the lines by position to find out.
  bool new_rows();
  /// After new_rows(): the lines ProjectionWriter::insert_new takes (an append-only target's
  /// kUpsert lines only, in position order, as its merge appends them), and the oldest position.
  std::string_view target_lines();
  const Position& oldest() const { return oldest_; }
  /// The lines added, superseded ones included.
  size_t size() const { return held_.size(); }
  void clear();

 private:
  struct Held {
    pgsink::StageLines::Line line;
    Position position;
    bool new_row = false;     ///< ProjectedEvent::new_row, or of a line this one superseded
    bool superseded = false;  ///< a newer line of the same key is held
  };
  /// Whether held lines `a` and `b` have the same key values.
  bool same_key(const Held& a, const Held& b) const;
  /// Hashes of the keys added: open addressing, emptied in O(1) by a new generation, so that
  /// adding a line allocates nothing once the table has grown to the batch size.
  class KeySet {
   public:
    /// Whether `hash` is in the set.
    bool contains(uint64_t hash) const;
    /// Adds `hash` with `value`; false when it was there, `value` then set to the one it had.
    bool insert(uint64_t hash, uint32_t& value);
    /// Sets the value of `hash`, which must be in the set.
    void set(uint64_t hash, uint32_t value) { slots_[find(hash)].value = value; }
    void clear();

   private:
    struct Slot {
      uint64_t hash = 0;
      uint32_t generation = 0;
      uint32_t value = 0;
    };
    size_t find(uint64_t hash) const;
    std::vector<Slot> slots_;
    size_t size_ = 0;
    uint32_t generation_ = 1;
  };

  bool soft_deletes_, append_only_, positioned_;
  std::vector<size_t> key_values_;
  const pgsink::StageLines* lines_ = nullptr;
  std::vector<Held> held_;
  std::string text_;
  bool text_built_ = false;
  KeySet keys_;
  bool distinct_keys_ = true;
  size_t not_new_ = 0;  ///< lines held, not superseded, that are no new row
  Position oldest_;
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
  /// Applies the segment built so far (insert_new when it can take it, else the merge), then
  /// clears it.
  void merge_segment();
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
