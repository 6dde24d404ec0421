#pragma once

#include <optional>
#include <string>
#include <vector>

#include "modsync/event/row.hpp"
#include "modsync/pg/pg_connection.hpp"
#include "modsync/pgsource/source_catalog.hpp"

namespace modsync::pgsource {

/// Reads tables inside one REPEATABLE READ transaction that imports an exported snapshot, in
/// chunks ordered by the table's key, so a crash loses at most one chunk of progress.
/// Not thread-safe; owns its transaction on `conn` (which must outlive it).
class SnapshotReader {
 public:
  /// Begins the transaction and imports `snapshot_name` (from CREATE_REPLICATION_SLOT).
  SnapshotReader(pg::PgConnection& conn, const std::string& snapshot_name);

  /// The table's columns as pgoutput describes them (no dropped or generated columns), with
  /// key flags from `table.key_columns`.
  std::vector<event::Column> columns(const TableInfo& table);

  /// Reads up to `limit` rows after `after_key` (the key column values of the last row read,
  /// in PostgreSQL text form; empty = from the start), ordered by key. Tables without a key
  /// are read through a cursor in one pass: `after_key` must then be empty at the first call
  /// and the reader continues the cursor on later calls.
  pg::PgResult read_chunk(const TableInfo& table, const std::vector<event::Column>& columns,
                      const std::vector<std::string>& after_key, int limit);

  /// Ends the transaction (the snapshot is released).
  void finish();

 private:
  pg::PgConnection& conn_;
  std::string cursor_table_;  ///< table whose keyless cursor is open, if any
};

}  // namespace modsync::pgsource
