#pragma once
// The snapshot of a source's tables: chunks, resume, progress records, restarts.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "change_mapper.hpp"
#include "durability_tracker.hpp"
#include "modsync/capture/capture_stats.hpp"
#include "modsync/checkpoint/checkpoint_store.hpp"
#include "modsync/config/config.hpp"
#include "modsync/pg/pg_connection.hpp"
#include "modsync/pgsource/source_catalog.hpp"

namespace modsync::capture {

/// Reads the tables whose snapshot is not done as op "r" events at an exported snapshot's
/// consistent point, split into ranges of about `snapshot_chunk_rows` rows (key ranges, or
/// CTID block ranges for keyless tables) that `snapshot_workers` connections read with COPY
/// and encode in parallel (SnapshotWorkerPool). It emits the ranges in order and records each
/// one's progress (SnapshotProgress) once Kafka acknowledged it and everything before it, so a
/// crash costs at most the ranges in flight:
///  - a keyed table resumes after the last recorded key; a keyless one starts over, behind a
///    snapshot truncate (its earlier rows can only be told apart by their older position);
///  - whole_at records the consistent point when a table was read whole there, so streaming
///    skips the table's changes that committed before it (snapshot_covers);
///  - a table whose publication membership changed is snapshotted again, behind a truncate.
/// Not thread-safe; one per capture pipeline. `store` and `stats` must outlive it.
class Snapshotter {
 public:
  /// What a snapshot needs from the pipeline besides the event host.
  class Host {
   public:
    virtual ~Host() = default;
    /// Registers `table` with the columns the snapshot reads (publishing its schema when new);
    /// returns the registry's schema. `at`: the consistent point.
    virtual const event::TableSchema& register_table(const pgsource::TableInfo& table,
                                                     std::vector<event::Column> columns,
                                                     Lsn at) = 0;
    /// Serves Kafka delivery reports for up to `timeout_ms`; throws on a delivery error.
    virtual void poll(int timeout_ms) = 0;
  };

  /// `pair.source` must be set. Every reference must outlive the snapshotter.
  Snapshotter(const config::PairConfig& pair, checkpoint::CheckpointStore& store,
              CaptureStats& stats, ChangeMapper& mapper, DurabilityTracker& tracker);

  /// The run's context ("source M (pair P)") and tables (in snapshot order).
  void set_tables(std::string context, std::vector<pgsource::TableInfo> tables);

  /// Reads each table's publication membership: call once before the run sets the publication
  /// up (what changed while modsync was away), once after.
  void read_membership_at_start(pgsource::SourceCatalog& catalog);
  void read_membership(pgsource::SourceCatalog& catalog);

  /// Compares each table's publication membership with the one recorded: in its snapshot
  /// progress when `from_checkpoint` (at start, before this run set the publication up), else
  /// with the one read last. A table whose membership changed is marked for a new snapshot
  /// behind a snapshot truncate, and the result is true. Without snapshots (snapshot: never)
  /// nothing can be read again: it logs the loss, sets the publication up again, and returns
  /// false.
  bool membership_changed(pgsource::SourceCatalog& catalog, bool from_checkpoint);

  /// True when a table's snapshot is not done.
  bool pending() const;

  /// Per relation: streaming from `start` must skip the table's changes committed before the
  /// LSN, which its snapshot already holds (it read the whole table there).
  std::unordered_map<uint32_t, Lsn> covers(Lsn start) const;

  /// Emits every row of the tables whose snapshot is not done, reading `snapshot_name` (over
  /// a connection of its own) at `consistent_point`, through the mapper to `events`.
  /// A table's snapshot that starts from its first row after an earlier attempt began it (or,
  /// `all_sent_before`, on a new slot replacing a lost one, whose projections hold rows of
  /// every table) is sent behind a snapshot truncate. Returns false when `stop` interrupted it
  /// (progress so far saved); throws on errors (delivery errors through host.poll()). Leaves the
  /// tracker with nothing in flight.
  bool run(const std::string& snapshot_name, Lsn consistent_point, bool all_sent_before,
           ChangeMapper::Host& events, Host& host, const std::atomic<bool>& stop);

 private:
  struct ChunkDone {
    ChunkToken token;
    checkpoint::SnapshotProgress progress;
  };
  void save_completed(std::vector<ChunkDone>& chunks);
  struct TableRun;
  void emit_restart(const event::TableSchema& schema, uint32_t ordinal, Lsn point,
                    ChangeMapper::Host& events);

  const config::PairConfig& pair_;
  const config::SourceConfig& src_;
  checkpoint::CheckpointStore& store_;
  CaptureStats& stats_;
  ChangeMapper& mapper_;
  DurabilityTracker& tracker_;
  std::string context_;
  std::vector<pgsource::TableInfo> tables_;
  /// Per table: its publication membership (SourceCatalog::membership) before this run set
  /// the publication up, and as last read since.
  std::unordered_map<uint32_t, std::string> membership_at_start_, membership_;
};

/// The snapshot progress's resume key (a JSON array of the key values, in PostgreSQL text).
std::string encode_key_list(const std::vector<std::string>& values);
/// Parses encode_key_list's output ("" → empty); throws a fatal Error naming the fix when it
/// is malformed.
std::vector<std::string> decode_key_list(const std::string& json);

}  // namespace modsync::capture
