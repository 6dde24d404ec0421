#include "modsync/pgsource/snapshot_reader.hpp"

#include "modsync/common/error.hpp"

namespace modsync::pgsource {

SnapshotReader::SnapshotReader(pg::PgConnection& conn, const std::string& snapshot_name) : conn_(conn) {
  conn_.exec("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
  if (!snapshot_name.empty()) {
    conn_.exec("SET TRANSACTION SNAPSHOT " + conn_.quote_literal(snapshot_name));
  }
}

std::vector<event::Column> SnapshotReader::columns(const TableInfo& table) {
  pg::PgResult r = conn_.exec_params(
      "SELECT attname, atttypid, atttypmod FROM pg_attribute WHERE attrelid = $1::oid "
      "AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum",
      {std::to_string(table.oid)});
  std::vector<event::Column> out;
  for (int i = 0; i < r.rows(); ++i) {
    event::Column c;
    c.name = std::string(r.value(i, 0));
    c.type_oid = static_cast<uint32_t>(std::stoul(std::string(r.value(i, 1))));
    c.type_modifier = std::stoi(std::string(r.value(i, 2)));
    for (const auto& k : table.key_columns) c.key = c.key || k == c.name;
    out.push_back(std::move(c));
  }
  return out;
}

pg::PgResult SnapshotReader::read_chunk(const TableInfo& table,
                                    const std::vector<event::Column>& columns,
                                    const std::vector<std::string>& after_key, int limit) {
  std::string select;
  for (const auto& c : columns) {
    if (!select.empty()) select += ", ";
    select += conn_.quote_ident(c.name);
  }
  const std::string from =
      conn_.quote_ident(table.name.schema) + "." + conn_.quote_ident(table.name.table);
  if (table.key_columns.empty()) {
    if (cursor_table_ != from) {
      if (!cursor_table_.empty()) conn_.exec("CLOSE modsync_snapshot");
      conn_.exec(fmt::format("DECLARE modsync_snapshot NO SCROLL CURSOR FOR SELECT {} FROM {}",
                             select, from));
      cursor_table_ = from;
    }
    return conn_.exec(fmt::format("FETCH {} FROM modsync_snapshot", limit));
  }
  std::string keys, params;
  for (size_t i = 0; i < table.key_columns.size(); ++i) {
    if (i > 0) {
      keys += ", ";
      params += ", ";
    }
    keys += conn_.quote_ident(table.key_columns[i]);
    params += fmt::format("${}", i + 1);
  }
  if (after_key.empty()) {
    return conn_.exec(
        fmt::format("SELECT {} FROM {} ORDER BY {} LIMIT {}", select, from, keys, limit));
  }
  if (after_key.size() != table.key_columns.size()) {
    fail(
        "snapshot of {}: the saved resume key has {} values but the key has {} columns. Fix: "
        "the table's key changed during the snapshot; run `modsync resnapshot`.",
        table.name.to_string(), after_key.size(), table.key_columns.size());
  }
  std::vector<std::optional<std::string>> values(after_key.begin(), after_key.end());
  return conn_.exec_params(fmt::format("SELECT {} FROM {} WHERE ({}) > ({}) ORDER BY {} LIMIT {}",
                                       select, from, keys, params, keys, limit),
                           values);
}

void SnapshotReader::finish() {
  if (!cursor_table_.empty()) conn_.exec("CLOSE modsync_snapshot");
  cursor_table_.clear();
  conn_.exec("COMMIT");
}

}  // namespace modsync::pgsource
