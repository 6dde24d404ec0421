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
  /// Stages `copy_data` (complete StageLines lines) and merges it into the target.
  /// With `distinct_keys` the caller vouches that no two lines of `copy_data` have the same
  /// key: the merge then skips its newest-per-key DISTINCT ON (a sort of the whole stage, the
  /// biggest part of the merge's cost). Ignored for append-only targets.
  void apply(std::string_view copy_data, bool distinct_keys = false);
  /// Empties the projection as of `position` (the truncate event's): rows from older events
  /// go, and older events still to come are ignored. Targets without the position columns get
  /// a plain TRUNCATE.
  void truncate(const Position& position);
  void save_offsets(const std::vector<StoredOffset>& offsets);
  void commit();
  /// Rolls back an open batch; safe to call when none is open.
  void rollback() noexcept;

  bool append_only() const { return !table_.has_key(); }
  /// Whether the target stores each row's source position (_modsync_lsn, _modsync_seq).
  bool positioned() const;
  const TargetTable& table() const { return table_; }

 private:
  std::string cast(size_t stage_index) const;
  void build_sql();

  pg::PgConnection& conn_;
  TargetTable table_;
  WriterOptions options_;
  std::string stage_;
  std::string create_stage_sql_, copy_sql_, merge_sql_, truncate_sql_;
  std::string merge_distinct_sql_;  ///< merge_sql_ for a stage without repeated keys
  bool in_tx_ = false;
  bool stage_used_ = false;  ///< the stage holds rows merged earlier in this transaction
};

}  // namespace modsync::pgsink
