#include <string_view>

#include "json_append.hpp"
#include "modsync/common/error.hpp"
#include "modsync/event/envelope.hpp"
#include "modsync/event/version.hpp"

#ifdef MODSYNC_PROJECT_VERSION
static_assert(std::string_view(modsync::event::kModsyncVersion) == MODSYNC_PROJECT_VERSION,
              "kModsyncVersion must match project(VERSION) in CMakeLists.txt");
#endif

namespace modsync::event {
namespace {

std::string_view snapshot_text(SnapshotMarker marker) {
  switch (marker) {
    case SnapshotMarker::kFalse:
      return "false";
    case SnapshotMarker::kTrue:
      return "true";
    case SnapshotMarker::kLast:
      return "last";
  }
  return "false";
}

void check_width(const TableSchema& table, RowImage row, const SourceInfo* source) {
  if (row.size() == table.columns.size()) return;
  fail(
      "event: a row of {}.{} (module {}, {}) has {} columns but schema version {} has {}; the "
      "relation cache is out of step with the replication stream",
      table.schema, table.table, table.module,
      source ? source->position.to_string() : std::string("key"), row.size(), table.version,
      table.columns.size());
}

void append_column_value(const Column& column, const ColumnValue& value, std::string& out) {
  switch (value.kind) {
    case ColumnValue::Kind::kNull:
      out.append("null");
      return;
    case ColumnValue::Kind::kText:
      append_json_value(column.type_oid, value.data, out);
      return;
    case ColumnValue::Kind::kBinary:
      // Only reachable if the slot is read with the binary option; keep the bytes exactly.
      out.push_back('"');
      detail::append_base64(value.data, out);
      out.push_back('"');
      return;
    case ColumnValue::Kind::kUnchanged:
      out.append("null");
      return;
  }
}

// Writes a row image as an object; unchanged TOASTed columns are left out.
void append_row(const TableSchema& table, RowImage row, std::string& out) {
  if (row.empty()) {
    out.append("null");
    return;
  }
  out.push_back('{');
  bool first = true;
  for (std::size_t i = 0; i < row.size(); ++i) {
    if (row[i].kind == ColumnValue::Kind::kUnchanged) continue;
    if (!first) out.push_back(',');
    first = false;
    append_json_string(table.columns[i].name, out);
    out.push_back(':');
    append_column_value(table.columns[i], row[i], out);
  }
  out.push_back('}');
}

void append_source(std::string_view module, std::string_view database, std::string_view schema,
                   std::string_view table, const uint32_t* schema_version, const SourceInfo& source,
                   std::string& out) {
  out.append("\"source\":{\"version\":\"");
  out.append(kModsyncVersion);
  out.append("\",\"connector\":\"modsync\",\"name\":");
  append_json_string(module, out);
  out.append(",\"ts_ms\":");
  detail::append_decimal(source.commit_time_ms, out);
  out.append(",\"snapshot\":\"");
  out.append(snapshot_text(source.snapshot));
  out.append("\",\"db\":");
  append_json_string(database, out);
  out.append(",\"schema\":");
  append_json_string(schema, out);
  out.append(",\"table\":");
  append_json_string(table, out);
  out.append(",\"txId\":");
  if (source.xid == 0) {
    out.append("null");
  } else {
    detail::append_decimal(source.xid, out);
  }
  out.append(",\"lsn\":");
  detail::append_decimal(source.position.commit_lsn.value(), out);
  out.append(",\"module\":");
  append_json_string(module, out);
  out.append(",\"position\":\"");
  // Lsn::to_string is the one place LSNs are printed; it fits the small-string buffer.
  out.append(source.position.commit_lsn.to_string());
  out.push_back('#');
  detail::append_decimal(source.position.index, out);
  out.push_back('"');
  if (schema_version != nullptr) {
    out.append(",\"schema_version\":");
    detail::append_decimal(*schema_version, out);
  }
  out.push_back('}');
}

void append_tail(Op op, int64_t now_ms, std::string& out) {
  out.append(",\"op\":\"");
  out.push_back(static_cast<char>(op));
  out.append("\",\"ts_ms\":");
  detail::append_decimal(now_ms, out);
}

}  // namespace

bool EnvelopeEncoder::encode_key(const TableSchema& table, RowImage row, std::string& out) const {
  out.clear();
  check_width(table, row, nullptr);
  bool any = false;
  for (std::size_t i = 0; i < row.size(); ++i) {
    const Column& column = table.columns[i];
    if (!column.key) continue;
    if (row[i].kind == ColumnValue::Kind::kUnchanged) {
      out.clear();
      fail(
          "event: key column {} of {}.{} (module {}) is an unchanged TOASTed value, so the "
          "key is unknown; encode the key from the old key image instead",
          column.name, table.schema, table.table, table.module);
    }
    out.push_back(any ? ',' : '{');
    any = true;
    append_json_string(column.name, out);
    out.push_back(':');
    append_column_value(column, row[i], out);
  }
  if (!any) return false;
  out.push_back('}');
  return true;
}

void EnvelopeEncoder::encode_change(const TableSchema& table, Op op, RowImage before,
                                    RowImage after, const SourceInfo& source, int64_t now_ms,
                                    std::string& out) const {
  out.clear();
  if (!before.empty()) check_width(table, before, &source);
  if (!after.empty()) check_width(table, after, &source);
  out.append("{\"before\":");
  append_row(table, before, out);
  out.append(",\"after\":");
  append_row(table, after, out);
  out.push_back(',');
  append_source(table.module, table.database, table.schema, table.table, &table.version, source,
                out);
  append_tail(op, now_ms, out);
  bool any_unchanged = false;
  for (std::size_t i = 0; i < after.size(); ++i) {
    if (after[i].kind != ColumnValue::Kind::kUnchanged) continue;
    out.append(any_unchanged ? "," : ",\"unchanged\":[");
    any_unchanged = true;
    append_json_string(table.columns[i].name, out);
  }
  if (any_unchanged) out.push_back(']');
  out.push_back('}');
}

void EnvelopeEncoder::encode_truncate(const TableSchema& table, const SourceInfo& source,
                                      int64_t now_ms, std::string& out) const {
  out.clear();
  out.append("{\"before\":null,\"after\":null,");
  append_source(table.module, table.database, table.schema, table.table, &table.version, source,
                out);
  append_tail(Op::kTruncate, now_ms, out);
  out.push_back('}');
}

void EnvelopeEncoder::encode_message(std::string_view module, std::string_view database,
                                     std::string_view prefix, std::string_view content,
                                     bool transactional, const SourceInfo& source, int64_t now_ms,
                                     std::string& out) const {
  out.clear();
  out.append("{\"op\":\"m\",");
  append_source(module, database, "", "", nullptr, source, out);
  out.append(",\"message\":{\"prefix\":");
  append_json_string(prefix, out);
  out.append(",\"content\":");
  if (detail::is_valid_utf8(content)) {
    append_json_string(content, out);
  } else {
    out.push_back('"');
    detail::append_base64(content, out);
    out.append("\",\"content_encoding\":\"base64\"");
  }
  out.append(",\"transactional\":");
  out.append(transactional ? "true" : "false");
  out.append("},\"ts_ms\":");
  detail::append_decimal(now_ms, out);
  out.push_back('}');
}

}  // namespace modsync::event
