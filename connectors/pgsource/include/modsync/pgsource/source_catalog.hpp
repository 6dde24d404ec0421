#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "modsync/common/lsn.hpp"
#include "modsync/event/row.hpp"
#include "modsync/pg/pg_connection.hpp"
#include "modsync/pg/qualified_name.hpp"

namespace modsync::pgsource {

struct TableInfo {
  pg::QualifiedName name;
  uint32_t oid = 0;
  char replica_identity = 'd';           ///< pg_class.relreplident
  bool partitioned = false;              ///< relkind 'p': published as the root of its partitions
  std::vector<std::string> key_columns;  ///< primary key (or replica identity index) columns, in order
  /// True when PostgreSQL can publish this table's UPDATEs and DELETEs.
  bool publishes_updates() const { return replica_identity == 'f' || !key_columns.empty(); }
};

struct SlotState {
  std::string plugin;
  std::string database;
  bool active = false;
  std::optional<int> active_pid;
  Lsn confirmed_flush;
  std::string wal_status;  ///< reserved | extended | unreserved | lost
};

/// One row of pg_replication_slots as the operator commands show it.
struct SlotRow {
  std::string name;
  std::string plugin;
  std::string database;  ///< "" for a physical slot
  bool active = false;
  std::optional<int> active_pid;
  std::string confirmed_flush_lsn;   ///< "" when NULL (physical slot)
  std::optional<int64_t> lag_bytes;  ///< server WAL position − confirmed_flush_lsn
  std::string wal_status;
  std::optional<int64_t> safe_wal_size;  ///< NULL when max_slot_wal_keep_size is unlimited
  bool temporary = false;
};

/// Start-up checks and catalog set-up on a regular connection to a source database.
/// Each check throws modsync::Error naming the problem and the fix.
class SourceCatalog {
 public:
  /// `conn` must outlive the catalog.
  explicit SourceCatalog(pg::PgConnection& conn) : conn_(conn) {}

  /// wal_level = logical and the current role may replicate (REPLICATION or superuser).
  void check_server();

  /// Looks up every table; throws one error listing all that do not exist.
  std::vector<TableInfo> describe_tables(const std::vector<pg::QualifiedName>& tables);

  /// Creates the publication for exactly `tables`, or sets its table list if it exists.
  void ensure_publication(const std::string& name, const std::vector<TableInfo>& tables);

  std::optional<SlotState> slot(const std::string& name);
  /// The slot `name` (nullopt when missing) if a capture can stream from it; throws a fatal
  /// Error (starting with `context`) naming the fix when it uses another plugin than pgoutput
  /// or PostgreSQL invalidated it (wal_status lost).
  std::optional<SlotState> usable_slot(const std::string& name, std::string_view context);
  void drop_slot(const std::string& name);
  /// The slot named `configured` (wherever it lives) plus every other slot of the connected
  /// database whose name starts with "modsync_"; the configured one first (the operator
  /// commands' listing).
  std::vector<SlotRow> modsync_slots(const std::string& configured);
  /// The connected database's name (a slot's `database` is compared with it).
  std::string database();

  /// Writes a non-transactional logical message that the slot will decode, so an idle
  /// database's slot still advances while other databases of the cluster write WAL.
  void emit_heartbeat();
  /// What decides which rows of `table` the slot publishes, as a comparable text: the
  /// publication (its OID and publish options), the table's entry in it (a table dropped and
  /// added again gets a new entry) and, for a partitioned table, its leaf partitions. A change
  /// means changes may have gone unpublished, or rows came or went without changes (ATTACH,
  /// DETACH).
  std::string membership(const std::string& publication, const TableInfo& table);

  /// Fills each column's type_name (format_type of its type OID and modifier), for
  /// subscribers that create their tables from the published schema. One query.
  void name_types(std::vector<event::Column>& columns);

  static constexpr const char* kHeartbeatPrefix = "modsync.heartbeat";

 private:
  pg::PgConnection& conn_;
};

}  // namespace modsync::pgsource
