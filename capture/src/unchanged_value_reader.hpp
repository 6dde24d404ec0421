#pragma once
// Unchanged TOASTed values, read from the source's current row.

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "modsync/event/row.hpp"
#include "modsync/event/table_schema.hpp"
#include "modsync/pg/pg_connection.hpp"
#include "modsync/pgsource/pgoutput.hpp"

namespace modsync::capture {

/// Fills the unchanged TOASTed values of an update's new row (a table without REPLICA
/// IDENTITY FULL, where pgoutput leaves them out) from the source's current row, found by its
/// key. The value read may be newer than the event; any later change of it has its own event,
/// and projections apply by position, so they converge on the source. Without it a projection
/// could not build a row that enters its filter, or changes its key, through such an update.
///
/// Never older: a commit is decoded before it is visible to other sessions, so the read is
/// only taken from a snapshot that sees the event's transaction (its 32-bit xid widened with
/// the snapshot's epoch), else tried again, for up to 60 s (a synchronous-replication wait
/// holds a decoded commit invisible for as long as it lasts).
/// Not thread-safe; one per capture pipeline.
class UnchangedValueReader {
 public:
  /// `after` with its unchanged values filled, or `after` itself when there are none, the
  /// table has no key, or the row is gone (a later event deletes it). The result stays valid
  /// until the next call. Throws a retriable Error when the transaction stays invisible.
  /// `reads` counts the queries.
  event::RowImage fill(pg::PgConnection& conn, const event::TableSchema& table, const pgsource::Begin& tx,
                       event::RowImage after, std::string_view context,
                       std::atomic<uint64_t>& reads);

 private:
  std::vector<event::ColumnValue> row_;
  pg::PgResult fetched_;  ///< holds the values row_ points into
};

}  // namespace modsync::capture
