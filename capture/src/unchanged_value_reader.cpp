#include "unchanged_value_reader.hpp"

#include <chrono>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "modsync/common/error.hpp"

namespace modsync::capture {

using event::ColumnValue;

event::RowImage UnchangedValueReader::fill(pg::PgConnection& conn, const event::TableSchema& t,
                                           const pgsource::Begin& tx, event::RowImage after,
                                           std::string_view context, std::atomic<uint64_t>& reads) {
  std::string select;
  for (size_t i = 0; i < after.size() && i < t.columns.size(); ++i) {
    if (after[i].kind != ColumnValue::Kind::kUnchanged) continue;
    select += ", t.";
    select += conn.quote_ident(t.columns[i].name);
  }
  if (select.empty() || !t.has_key()) return after;
  std::string on;
  std::vector<std::optional<std::string>> params{std::to_string(tx.xid)};
  for (size_t i = 0; i < after.size() && i < t.columns.size(); ++i) {
    if (!t.columns[i].key) continue;
    if (after[i].kind != ColumnValue::Kind::kText) return after;
    if (!on.empty()) on += " AND ";
    params.emplace_back(std::string(after[i].data));
    on += fmt::format("t.{} = ${}", conn.quote_ident(t.columns[i].name), params.size());
  }
  const std::string query = fmt::format(
      "SELECT pg_visible_in_snapshot((SELECT (CASE WHEN f > m THEN f - 4294967296 ELSE f END)"
      "::text::xid8 FROM (SELECT ((m >> 32) << 32) | $1::bigint AS f, m FROM (SELECT "
      "pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS m) a) b), "
      "pg_current_snapshot()), t.ctid IS NOT NULL{} FROM (SELECT 1) one LEFT JOIN {}.{} t "
      "ON {}",
      select, conn.quote_ident(t.schema), conn.quote_ident(t.table), on);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    try {
      fetched_ = conn.exec_params(query, params);
    } catch (const pg::SqlError& e) {
      // Dropped or renamed since (42703 undefined column, 42P01 undefined table): there is
      // no current value to read. The event keeps the columns unchanged, as pgoutput sent
      // it; later events carry the new shape, which projections check (docs/projections.md,
      // "Schema versions").
      if (e.sqlstate() != "42703" && e.sqlstate() != "42P01") throw;
      spdlog::warn(
          "{}: the unchanged TOASTed values of an update of {}.{} (transaction {}) "
          "cannot be read again: {}. The event marks them unchanged",
          context, t.schema, t.table, tx.xid, e.what());
      return after;
    }
    reads.fetch_add(1, std::memory_order_relaxed);
    if (fetched_.rows() == 1 && fetched_.value(0, 0) == "t") break;
    if (std::chrono::steady_clock::now() > deadline) {
      fail_retriable(
          "{}: transaction {} (commit {}) is decoded but still not visible to "
          "other sessions after 60 s (a synchronous replication wait?); the "
          "capture starts again from its checkpoint",
          context, tx.xid, tx.final_lsn);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (fetched_.value(0, 1) != "t") return after;  // the row is gone
  row_.assign(after.begin(), after.end());
  int c = 2;
  for (auto& v : row_) {
    if (v.kind != ColumnValue::Kind::kUnchanged) continue;
    v = fetched_.is_null(0, c) ? ColumnValue{ColumnValue::Kind::kNull, {}}
                               : ColumnValue{ColumnValue::Kind::kText, fetched_.value(0, c)};
    ++c;
  }
  return row_;
}

}  // namespace modsync::capture
