#include "modsync/pgsink/target_table.hpp"

namespace modsync::pgsink {

const TargetColumn* TargetTable::find(std::string_view column) const {
  for (const auto& c : columns)
    if (c.name == column) return &c;
  return nullptr;
}

bool TargetTable::has_key() const {
  for (const auto& c : columns)
    if (c.key) return true;
  return false;
}

std::optional<TargetTable> describe_target(pg::PgConnection& conn, const pg::QualifiedName& name) {
  const std::string qualified = conn.quote_ident(name.schema) + "." + conn.quote_ident(name.table);
  pg::PgResult r = conn.exec_params(
      "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.atttypid, t.typcategory, "
      "  COALESCE(a.attnum = ANY(i.indkey), false), "
      // bool, bytea, "char", name, int8, int2, int4, text, oid, varchar, date, time,
      // timestamp, uuid, and character(n) (blank-padded to n): their text output is canonical.
      // Not a bpchar without a length, which keeps the trailing blanks it was given ('b' =
      // 'b  '), nor timestamptz, which events carry in the source session's time zone: after
      // a change of that zone a row's lines carry other offsets ('…-03:30', '…+13:45').
      "  (a.atttypid IN (16, 17, 18, 19, 20, 21, 23, 25, 26, 1043, 1082, 1083, 1114, 2950) "
      "    OR a.atttypid = 1042 AND a.atttypmod >= 0) AND COALESCE(c.collisdeterministic, true), "
      "  CASE WHEN NOT c.collisdeterministic THEN format('%I.%I', cn.nspname, c.collname) END "
      "FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
      "LEFT JOIN pg_collation c ON c.oid = a.attcollation "
      "LEFT JOIN pg_namespace cn ON cn.oid = c.collnamespace "
      "LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary "
      "WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped "
      "ORDER BY a.attnum",
      {qualified});
  if (r.rows() == 0) return std::nullopt;
  TargetTable table;
  table.name = name;
  for (int i = 0; i < r.rows(); ++i) {
    TargetColumn c;
    c.name = std::string(r.value(i, 0));
    c.type = std::string(r.value(i, 1));
    c.type_oid = static_cast<uint32_t>(std::stoul(std::string(r.value(i, 2))));
    c.category = r.value(i, 3).empty() ? 'U' : r.value(i, 3)[0];
    c.key = r.value(i, 4) == "t";
    c.text_is_value = r.value(i, 5) == "t";
    c.collation = std::string(r.value(i, 6));
    table.columns.push_back(std::move(c));
  }
  return table;
}

char type_category(pg::PgConnection& conn, uint32_t type_oid, const std::string& type_name) {
  if (type_oid >= kFirstNormalObjectId && type_name.empty()) return 'U';
  pg::PgResult r =
      type_oid < kFirstNormalObjectId
          ? conn.exec_params("SELECT typcategory FROM pg_type WHERE oid = $1::oid",
                             {std::to_string(type_oid)})
          : conn.exec_params("SELECT typcategory FROM pg_type WHERE oid = to_regtype($1)",
                             {type_name});
  return r.rows() == 0 || r.value(0, 0).empty() ? 'U' : r.value(0, 0)[0];
}

}  // namespace modsync::pgsink
