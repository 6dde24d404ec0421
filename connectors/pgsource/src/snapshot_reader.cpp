#include "modsync/pgsource/snapshot_reader.hpp"

#include <charconv>

#include "modsync/common/error.hpp"

namespace modsync::pgsource {

SnapshotReader::SnapshotReader(pg::PgConnection& conn, const std::string& snapshot_name)
    : conn_(conn) {
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

TableEstimate SnapshotReader::estimate(const TableInfo& table) {
  pg::PgResult r = conn_.exec_params(
      "SELECT greatest(reltuples, 0)::bigint, current_setting('block_size')::bigint, "
      "pg_relation_size(oid) / current_setting('block_size')::bigint FROM pg_class "
      "WHERE oid = $1::oid",
      {std::to_string(table.oid)});
  TableEstimate e;
  if (r.rows() == 1) {
    e.rows = std::stoull(std::string(r.value(0, 0)));
    e.block_size = std::stoull(std::string(r.value(0, 1)));
    e.blocks = std::stoull(std::string(r.value(0, 2)));
  }
  return e;
}

std::string SnapshotReader::select_list(const TableInfo& table,
                                        const std::vector<event::Column>& columns) const {
  std::string select;
  for (const auto& c : columns) {
    if (!select.empty()) select += ", ";
    select += conn_.quote_ident(c.name);
  }
  if (table.key_columns.empty()) select += select.empty() ? "ctid" : ", ctid";
  return select;
}

std::string SnapshotReader::key_list(const TableInfo& table) const {
  std::string keys;
  for (const auto& k : table.key_columns) {
    if (!keys.empty()) keys += ", ";
    keys += conn_.quote_ident(k);
  }
  return keys;
}

std::string SnapshotReader::key_literals(const TableInfo& table,
                                         const std::vector<std::string>& key) const {
  if (key.size() != table.key_columns.size()) {
    fail(
        "snapshot of {}: the saved resume key has {} values but the key has {} columns. Fix: "
        "the table's key changed during the snapshot; run `modsync resnapshot`.",
        table.name.to_string(), key.size(), table.key_columns.size());
  }
  // Untyped literals take the key columns' types in the row comparison.
  std::string out;
  for (const auto& v : key) {
    if (!out.empty()) out += ", ";
    out += conn_.quote_literal(v);
  }
  return out;
}

KeyBounds SnapshotReader::key_bounds(const TableInfo& table,
                                     const std::vector<std::string>& after_key, uint64_t chunk_rows,
                                     uint64_t ranges) {
  const std::string keys = key_list(table);
  const std::string from =
      conn_.quote_ident(table.name.schema) + "." + conn_.quote_ident(table.name.table);
  const std::string where =
      after_key.empty() ? ""
                        : fmt::format(" WHERE ({}) > ({})", keys, key_literals(table, after_key));
  // Every column of the derived tables is renamed (k1…kN, n, total), so no key column's name can
  // collide with the row number or the count.
  std::string renamed, renamed_text;
  for (size_t i = 1; i <= table.key_columns.size(); ++i) {
    if (i > 1) renamed += ", ", renamed_text += ", ";
    renamed += fmt::format("k{}", i);
    renamed_text += fmt::format("k{}::text", i);
  }
  // One row more than the ranges hold tells whether rows follow; the total whether the last
  // bound would be the table's last row.
  const uint64_t limit = chunk_rows * ranges + 1;
  pg::PgResult r = conn_.exec(fmt::format(
      "SELECT {}, total FROM (SELECT {}, row_number() OVER (ORDER BY {}), count(*) OVER () "
      "FROM (SELECT {} FROM {}{} ORDER BY {} LIMIT {}) a({})) b({}, n, total) "
      "WHERE n % {} = 0 ORDER BY n",
      renamed_text, renamed, renamed, keys, from, where, keys, limit, renamed, renamed,
      chunk_rows));
  KeyBounds out;
  const int k = static_cast<int>(table.key_columns.size());
  uint64_t total = 0;
  for (int i = 0; i < r.rows(); ++i) {
    std::vector<std::string> bound;
    for (int c = 0; c < k; ++c) bound.emplace_back(r.value(i, c));
    out.upto.push_back(std::move(bound));
    total = std::stoull(std::string(r.value(i, k)));
  }
  out.more = total == limit;
  // A bound at the table's last row would leave the final, open range empty.
  if (!out.more && !out.upto.empty() && total == chunk_rows * out.upto.size()) out.upto.pop_back();
  return out;
}

void SnapshotReader::begin_range(const TableInfo& table, const std::vector<event::Column>& columns,
                                 const SnapshotRange& range) {
  const std::string from =
      conn_.quote_ident(table.name.schema) + "." + conn_.quote_ident(table.name.table);
  std::string sql = "COPY (SELECT " + select_list(table, columns) + " FROM " + from;
  if (table.key_columns.empty()) {
    sql += fmt::format(" WHERE ctid >= '({},0)'::tid", range.first_block);
    if (range.end_block > 0) sql += fmt::format(" AND ctid < '({},0)'::tid", range.end_block);
  } else {
    const std::string keys = key_list(table);
    const char* glue = " WHERE ";
    if (!range.after_key.empty()) {
      sql += fmt::format("{}({}) > ({})", glue, keys, key_literals(table, range.after_key));
      glue = " AND ";
    }
    if (!range.upto_key.empty())
      sql += fmt::format("{}({}) <= ({})", glue, keys, key_literals(table, range.upto_key));
    sql += " ORDER BY " + keys;
  }
  sql += ") TO STDOUT";
  conn_.copy_out_begin(sql);
  copying_ = true;
  fields_ = columns.size() + (table.key_columns.empty() ? 1 : 0);
  what_ = "snapshot of " + table.name.to_string();
}

const std::vector<event::ColumnValue>* SnapshotReader::next_row() {
  if (!copying_) return nullptr;
  std::string_view row;
  if (!conn_.copy_out_row(row_, row)) {
    copying_ = false;
    return nullptr;
  }
  parser_.parse(row, fields_, what_);
  return &parser_.values();
}

void SnapshotReader::finish() {
  conn_.exec("COMMIT");
}

uint64_t ctid_ordinal(std::string_view ctid, uint64_t block_size) {
  uint64_t block = 0, offset = 0;
  const char* p = ctid.data();
  const char* end = ctid.data() + ctid.size();
  bool ok = ctid.size() >= 5 && *p == '(' && end[-1] == ')';
  if (ok) {
    auto b = std::from_chars(p + 1, end, block);
    ok = b.ec == std::errc{} && b.ptr < end && *b.ptr == ',';
    if (ok) {
      auto o = std::from_chars(b.ptr + 1, end, offset);
      ok = o.ec == std::errc{} && o.ptr == end - 1 && offset > 0;
    }
  }
  if (!ok) fail("snapshot: malformed ctid \"{}\" in a COPY row", ctid);
  return block * max_tuples_per_block(block_size) + offset - 1;
}

uint64_t max_tuples_per_block(uint64_t block_size) {
  // MaxHeapTuplesPerPage: a page header of 24 bytes, 24-byte tuple headers and 4-byte item ids.
  return block_size > 24 ? (block_size - 24) / 28 : 1;
}

}  // namespace modsync::pgsource
