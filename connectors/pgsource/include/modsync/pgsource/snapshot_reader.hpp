#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "modsync/event/row.hpp"
#include "modsync/pg/pg_connection.hpp"
#include "modsync/pgsource/copy_text_parser.hpp"
#include "modsync/pgsource/source_catalog.hpp"

namespace modsync::pgsource {

/// A part of a table a snapshot reads in one COPY.
struct SnapshotRange {
  /// Keyed tables: the rows whose key is above `after_key` (empty: from the first) and at most
  /// `upto_key` (empty: to the last), key values in PostgreSQL text form.
  std::vector<std::string> after_key, upto_key;
  /// Keyless tables: the rows in heap blocks [first_block, end_block) (end_block 0: to the end).
  uint64_t first_block = 0, end_block = 0;
};

/// Where a keyed table's next ranges end: key values (text form) every `chunk_rows` rows.
struct KeyBounds {
  std::vector<std::vector<std::string>> upto;  ///< each range's last key, ascending
  bool more = false;  ///< rows follow the last bound beyond what was asked for
};

/// What the catalog estimates of a table's size (pg_class, as of its last ANALYZE or VACUUM).
struct TableEstimate {
  uint64_t rows = 0;    ///< reltuples, 0 when never counted
  uint64_t blocks = 0;  ///< the heap's blocks now (pg_relation_size / block_size)
  uint64_t block_size = 8192;
};

/// Reads tables inside one REPEATABLE READ transaction that imports an exported snapshot, a
/// range at a time, each with `COPY (SELECT …) TO STDOUT` (text format: the values are the
/// types' text output, as a text-format query gives them), so several readers over the same
/// exported snapshot can share a table. Not thread-safe; owns its transaction on `conn` (which
/// must outlive it).
class SnapshotReader {
 public:
  /// Begins the transaction and imports `snapshot_name` (from CREATE_REPLICATION_SLOT).
  SnapshotReader(pg::PgConnection& conn, const std::string& snapshot_name);

  /// The table's columns as pgoutput describes them (no dropped or generated columns), with
  /// key flags from `table.key_columns`.
  std::vector<event::Column> columns(const TableInfo& table);

  TableEstimate estimate(const TableInfo& table);

  /// The ends of up to `ranges` ranges of `chunk_rows` rows each after `after_key` (empty:
  /// from the first row), in key order. Never ends a range at the table's last row, so the
  /// open range after the last bound holds at least one row unless nothing follows `after_key`.
  KeyBounds key_bounds(const TableInfo& table, const std::vector<std::string>& after_key,
                       uint64_t chunk_rows, uint64_t ranges);

  /// Starts reading `range` of `table` (keyed: ordered by key; keyless: in heap order, each row
  /// followed by its ctid as one more value). Read the rows with next_row().
  void begin_range(const TableInfo& table, const std::vector<event::Column>& columns,
                   const SnapshotRange& range);
  /// The next row of the range (valid until the next call), or nullptr at its end.
  const std::vector<event::ColumnValue>* next_row();

  /// Ends the transaction (the snapshot is released).
  void finish();

 private:
  std::string select_list(const TableInfo& table, const std::vector<event::Column>& columns) const;
  std::string key_list(const TableInfo& table) const;
  std::string key_literals(const TableInfo& table, const std::vector<std::string>& key) const;

  pg::PgConnection& conn_;
  CopyTextParser parser_;
  pg::PqBuffer row_;
  size_t fields_ = 0;  ///< values per row of the current range
  std::string what_;   ///< "snapshot of S.T", for errors
  bool copying_ = false;
};

/// A keyless snapshot row's ordinal from its ctid "(block,offset)": block × the most tuples a
/// block can hold + offset − 1, so ordinals are unique, in heap order, and the same whichever
/// range or worker read the row. Throws when `ctid` is malformed.
uint64_t ctid_ordinal(std::string_view ctid, uint64_t block_size);
/// The most tuples a heap block of `block_size` bytes holds (MaxHeapTuplesPerPage).
uint64_t max_tuples_per_block(uint64_t block_size);

}  // namespace modsync::pgsource
