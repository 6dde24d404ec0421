#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "modsync/common/kafka_position.hpp"
#include "modsync/common/lsn.hpp"
#include "modsync/pgsink/target_table.hpp"

namespace modsync::pgsink {

/// A consumed Kafka position recorded in the subscriber database (next offset to read).
struct StoredOffset {
  std::string topic;
  kafka::Partition partition{0};
  kafka::Offset next_offset{0};
};

struct WriterOptions {
  std::string projection_id;             ///< unique per pair and target, e.g. "pair/public.t"
  std::vector<std::string> fed_columns;  ///< target columns the stage carries, in stage order
  std::string soft_delete_column;        ///< "" = deletes remove rows
  /// The session's idle_in_transaction_session_timeout. A daemon frozen inside a batch's
  /// transaction (SIGSTOP, a paused VM) would otherwise hold its locks for ever: the partition
  /// claims it read FOR SHARE, which another replica's claim waits for, and the target's rows.
  /// Longer than anything the daemon waits for inside a batch (the dead-letter flush, 30 s); a
  /// statement that runs is never idle, so a long merge is not cut short.
  std::chrono::milliseconds idle_transaction_timeout{60000};
};

/// Applies batches of projected rows to one target table, effectively once.
///
/// A batch is staged with COPY into a temporary table as StageLines (stage_lines.hpp: op,
/// source position, unchanged columns, the fed columns' values). The merge then keeps the newest event per key and applies it only where the row's stored
/// position (_modsync_lsn, _modsync_seq) is older: replays and reordering never regress a row.
/// Targets without a primary key are append-only: 'u' rows are inserted, nothing else; with
/// the two position columns each event is inserted once even when the capture re-sent it.
/// The consumed offsets are written in the same transaction (modsync.offsets), so a batch and
/// its offsets commit together or not at all.
/// Not thread-safe; `conn` must outlive the writer and is used only by it while a batch is open.
class ProjectionWriter {
 public:
  ProjectionWriter(pg::PgConnection& conn, TargetTable table, WriterOptions options);

  /// The advisory lock key ensure_offsets_table holds while it creates: "modsync" in ASCII.
  static constexpr int64_t kSchemaLockKey = 30803249686212195;
  /// The first key of the two-key advisory lock a positioned append-only projection's merges
  /// take ("mods" in ASCII; the second is hashtext(projection id)). Two-key locks never
  /// collide with one-key ones such as kSchemaLockKey.
  static constexpr int32_t kAppendLockClass = 1836016755;

  /// Creates schema modsync and tables modsync.offsets and modsync.truncates if missing. Safe
  /// to call from several connections at once (it serialises them with an advisory lock).
  /// Must be called outside a transaction.
  static void ensure_offsets_table(pg::PgConnection& conn);
  static std::vector<StoredOffset> load_offsets(pg::PgConnection& conn,
                                                const std::string& projection_id);
  /// `modsync resnapshot`: in one transaction, empties the target table `target` and replaces
  /// the projection's stored offsets with `start` (none: it reads its topic from the
  /// beginning). Must be called outside a transaction, after ensure_offsets_table.
  static void reset(pg::PgConnection& conn, const pg::QualifiedName& target,
                    const std::string& projection_id, const std::vector<StoredOffset>& start);

  /// Starts a batch's transaction, with synchronous_commit off: the batch's offsets commit in
  /// the same transaction as its rows, so a commit the subscriber loses in a crash loses its
  /// offsets with it, and the pipeline, which reloads the offsets from this database whenever
  /// it starts over, applies those events again (docs/projections.md, "Batches, effectively
  /// once").
  void begin();
  /// Stages `copy_data` (complete StageLines lines; kInsert for kUpsert lines of rows the
  /// target usually lacks) and merges it into the target.
  /// A keyed target's merge runs a statement per op present: DELETE (or the soft delete's
  /// UPDATE), UPDATE of partial lines, UPDATE of kUpsert lines, then INSERT … ON CONFLICT of
  /// kInsert lines and of kUpsert lines the UPDATE did not find; each only where the stored
  /// position is older. Before them, lines a newer line of their key supersedes leave the
  /// stage, unless the caller vouches with `distinct_keys` that no two lines of `copy_data`
  /// have the same key. A caller comparing texts cannot vouch for keys whose equality is
  /// looser than their text (numeric, citext): the dedupe runs for those anyway. Append-only
  /// targets take one statement (and ignore `distinct_keys`).
  void apply(std::string_view copy_data, bool distinct_keys = false);
  /// Empties the projection as of `position` (the truncate event's): rows from older events
  /// go, and older events still to come are ignored. Targets without the position columns get
  /// a plain TRUNCATE.
  void truncate(const Position& position);
  /// Before the first statement of a batch that holds a truncate: locks the target against
  /// the merges of other connections (sink.workers, sink.group replicas) until this batch
  /// commits. Without it a merge running beside the truncate did not see its mark yet, and
  /// the truncate's DELETE did not see the merge's rows: an older row survived the truncate.
  /// Taken first, so a batch never upgrades its lock (two batches upgrading deadlock).
  void lock_for_truncate();
  /// Whether insert_new can take this target's lines: a plain or partitioned table without
  /// rules, whose fed columns read COPY text as the merge's casts do (no bytea, no regclass),
  /// and that rejects a line already applied with a unique violation: keyed, or append-only
  /// with a unique index on (_modsync_lsn, _modsync_seq); or append-only without the position
  /// columns, whose merge recognises nothing either.
  bool takes_new_rows() const { return takes_new_rows_; }
  /// The bulk path for new rows (docs/projections.md, "Initial loads"): COPYs `target_lines`
  /// (StageLines::append_target_line, with_position = positioned()) straight into the target,
  /// under a savepoint, instead of staging and merging them. The caller vouches that every
  /// line is a kUpsert line, that no two have the same key (append-only: the same position),
  /// and that `oldest` is the oldest line's position. Returns false, with nothing of the lines
  /// applied, when a line's key (position) is already in the target, a value is rejected, or a
  /// truncate at or after `oldest` is recorded: the caller then apply()s the same lines, whose
  /// merge does what it always does. A failure other than of the data makes later calls
  /// return false at once; a lost connection throws.
  bool insert_new(std::string_view target_lines, const Position& oldest);
  void save_offsets(const std::vector<StoredOffset>& offsets);
  void commit();
  /// Rolls back an open batch; safe to call when none is open.
  void rollback() noexcept;

  bool append_only() const { return !table_.has_key(); }
  /// The stage indexes of the key's values (keyed targets; none for append-only ones).
  std::vector<size_t> key_values() const;
  /// Whether the target stores each row's source position (_modsync_lsn, _modsync_seq).
  bool positioned() const;
  const TargetTable& table() const { return table_; }

 private:
  /// Stage value `stage_index` of the stage row `alias` as its target column's type.
  std::string cast(size_t stage_index, const char* alias = "l") const;
  void build_sql();
  /// The stage's value column types, in stage order; one catalog query at start.
  std::vector<std::string> choose_stage_types();
  /// Whether the target can take insert_new at all; one catalog query at start.
  bool check_takes_new_rows();

  pg::PgConnection& conn_;
  TargetTable table_;
  WriterOptions options_;
  std::string stage_;
  std::vector<std::string> stage_types_;  ///< of the stage's value columns c0…cN-1
  std::string create_stage_sql_, copy_sql_, merge_sql_, truncate_sql_;
  /// Keyed targets: what apply() runs instead of merge_sql_ for a stage without repeated keys,
  /// a statement per op (kSplitInsertMissing: kInsert lines, and kUpsert lines whose key is
  /// absent).
  enum SplitStatement {
    kSplitDelete,
    kSplitPatch,
    kSplitUpdate,
    kSplitInsert,
    kSplitInsertMissing,
    kSplitCount
  };
  std::string split_sql_[kSplitCount];
  /// Deletes the stage lines a newer line of the same key supersedes; returns their ops.
  std::string dedupe_sql_;
  /// Positioned append-only targets: takes the projection's append lock (build_sql).
  std::string append_lock_sql_;
  std::string insert_new_sql_;  ///< COPY straight into the target
  bool takes_new_rows_ = false;
  /// Every key column's values are equal exactly when their texts are (TargetColumn).
  bool keys_text_is_value_ = true;
  bool in_tx_ = false;
  bool stage_used_ = false;  ///< the stage holds rows merged earlier in this transaction
};

}  // namespace modsync::pgsink
