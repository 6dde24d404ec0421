#pragma once
// The schema events of the `{prefix}.schemas` topic (docs/events.md, "Versions"), written and
// read back here: one per table schema version, for subscribers that check or create their
// tables from it.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "modsync/common/lsn.hpp"
#include "modsync/event/table_schema.hpp"

namespace modsync::event {

/// A column of a source table as a schema event lists it.
struct SchemaColumn {
  std::string name;
  uint32_t type_oid = 0;
  int32_t type_modifier = -1;
  bool key = false;
  /// format_type() on the source ("public.mood"); "" in schemas published before modsync
  /// carried it. A user-defined type's OID means nothing in the subscriber database: use this.
  std::string type_name;
};

/// One schema event: {"module","database","schema","table","version","since_lsn","topic",
/// "columns":[{"name","type","type_oid","type_modifier","key"}]}.
struct SchemaEvent {
  std::string module, schema, table;
  uint64_t version = 0;
  std::vector<SchemaColumn> columns;
};

/// The columns as a JSON array of {"name",["type",]"type_oid","type_modifier","key"}. Without
/// type names it is what tells schema versions apart (names, type OIDs, modifiers, key flags);
/// the schema event adds each column's type name, which is not part of a version's identity.
std::string schema_columns_json(const TableSchema& schema, bool with_type_names = false);

/// The schema event of one version of `schema` (its version set), in effect since `since`.
std::string encode_schema_event(const TableSchema& schema, Lsn since);

/// Reads a schema event from its Kafka value; nullopt when it is not one: not JSON, module,
/// schema, table, version or columns missing, or a column without its name, type_oid,
/// type_modifier or key ("type" is optional). `parser` is reused between calls.
std::optional<SchemaEvent> read_schema_event(simdjson::dom::parser& parser, std::string_view value);

}  // namespace modsync::event
