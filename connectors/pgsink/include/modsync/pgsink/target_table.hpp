#pragma once

#include <optional>
#include <string>
#include <vector>

#include "modsync/pg/pg_connection.hpp"
#include "modsync/pg/qualified_name.hpp"

namespace modsync::pgsink {

/// A column of a projection's target table, as the subscriber database describes it.
struct TargetColumn {
  std::string name;
  std::string type;  ///< format_type(), e.g. "numeric(12,2)", "text[]"
  uint32_t type_oid = 0;
  char category = 'U';  ///< pg_type.typcategory: N numeric, S string, A array, U user, …
  bool key = false;     ///< part of the primary key
  /// Two values of this column are equal exactly when their texts are: a type whose text
  /// output is canonical (integers, text under a deterministic collation, uuid, …). Not so
  /// for numeric (5.0 = 5.00), citext ('A' = 'a'), floats (0 = -0), interval, domains, a
  /// bpchar without a length ('b' = 'b  '), timestamptz (its text carries the source session's
  /// zone) and text under a nondeterministic collation.
  bool text_is_value = false;
  /// The column's collation, quoted and schema-qualified, when it is nondeterministic (its
  /// equality is not the bytes'); empty otherwise.
  std::string collation;
};

/// The target table of a projection. Columns in attnum order; key columns flagged.
struct TargetTable {
  pg::QualifiedName name;
  std::vector<TargetColumn> columns;

  const TargetColumn* find(std::string_view column) const;
  bool has_key() const;
};

/// The columns modsync keeps in every keyed target table: the source position each row
/// reflects, so an older or replayed event never overwrites a newer row (the version guard).
inline constexpr const char* kLsnColumn = "_modsync_lsn";
inline constexpr const char* kSeqColumn = "_modsync_seq";

/// Reads the target table's description; nullopt when it does not exist.
std::optional<TargetTable> describe_target(pg::PgConnection& conn, const pg::QualifiedName& name);

/// The first OID of objects created after initdb (PostgreSQL's FirstNormalObjectId): a type
/// below it is built in and has the same OID in every database.
inline constexpr uint32_t kFirstNormalObjectId = 16384;

/// The typcategory in the subscriber database of a source column's type: by OID for built-in
/// types (the same OID everywhere), by `type_name` (format_type on the source) for the others;
/// 'U' when unknown.
char type_category(pg::PgConnection& conn, uint32_t type_oid, const std::string& type_name);

}  // namespace modsync::pgsink
