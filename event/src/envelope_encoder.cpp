#include <string_view>

#include "connect_schema.hpp"
#include "json_append.hpp"
#include "modsync/common/error.hpp"
#include "modsync/event/debezium.hpp"
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

void append_column_value(const Column& column, const ColumnValue& value, ValueMode mode,
                         std::string& out) {
  switch (value.kind) {
    case ColumnValue::Kind::kNull:
      out.append("null");
      return;
    case ColumnValue::Kind::kText:
      if (mode == ValueMode::kModsync) {
        append_json_value(column.type_oid, value.data, out);
      } else {
        debezium::append_debezium_value(column, value.data, out);
      }
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
void append_row(const TableSchema& table, RowImage row, ValueMode mode, std::string& out) {
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
    append_column_value(table.columns[i], row[i], mode, out);
  }
  out.push_back('}');
}

void append_source(std::string_view module, std::string_view database, std::string_view schema,
                   std::string_view table, const uint32_t* schema_version, const SourceInfo& source,
                   ValueMode mode, std::string& out) {
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
  if (mode == ValueMode::kDebezium) {
    out.append(",\"");
    out.append(debezium::kValueModeField);
    out.append("\":\"debezium\"");
  }
  out.push_back('}');
}

// The schema_payload envelope: opens {"schema":…,"payload": before the plain JSON is
// appended; close_payload ends it.
void open_payload(const std::string& schema, std::string& out) {
  out.append("{\"schema\":");
  out.append(schema);
  out.append(",\"payload\":");
}

void close_payload(bool wrapped, std::string& out) {
  if (wrapped) out.push_back('}');
}

void append_tail(Op op, int64_t now_ms, std::string& out) {
  out.append(",\"op\":\"");
  out.push_back(static_cast<char>(op));
  out.append("\",\"ts_ms\":");
  detail::append_decimal(now_ms, out);
}

}  // namespace

const EnvelopeEncoder::ConnectSchemas& EnvelopeEncoder::connect_schemas(
    const TableSchema& table) const {
  ConnectSchemas& s = schemas_[table.topic];
  if (s.version != table.version || s.columns != table.columns.size() || s.value.empty()) {
    s.version = table.version;
    s.columns = table.columns.size();
    s.key = detail::connect_key_schema(table, options_.values);
    s.value = detail::connect_envelope_schema(table, options_.values);
  }
  return s;
}

bool EnvelopeEncoder::encode_key(const TableSchema& table, RowImage row, std::string& out) const {
  out.clear();
  check_width(table, row, nullptr);
  const bool wrapped = options_.envelope == EnvelopeForm::kSchemaPayload;
  if (wrapped && table.has_key()) open_payload(connect_schemas(table).key, out);
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
    if (row[i].kind == ColumnValue::Kind::kText) {
      const ColumnValue canonical{ColumnValue::Kind::kText,
                                  canonical_key_text(column, row[i].data, key_scratch_)};
      append_column_value(column, canonical, options_.values, out);
    } else {
      append_column_value(column, row[i], options_.values, out);
    }
  }
  if (!any) {
    out.clear();
    return false;
  }
  out.push_back('}');
  close_payload(wrapped, out);
  return true;
}

void EnvelopeEncoder::encode_change(const TableSchema& table, Op op, RowImage before,
                                    RowImage after, const SourceInfo& source, int64_t now_ms,
                                    std::string& out) const {
  out.clear();
  if (!before.empty()) check_width(table, before, &source);
  if (!after.empty()) check_width(table, after, &source);
  const bool wrapped = options_.envelope == EnvelopeForm::kSchemaPayload;
  if (wrapped) open_payload(connect_schemas(table).value, out);
  out.append("{\"before\":");
  append_row(table, before, options_.values, out);
  out.append(",\"after\":");
  append_row(table, after, options_.values, out);
  out.push_back(',');
  append_source(table.module, table.database, table.schema, table.table, &table.version, source,
                options_.values, out);
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
  close_payload(wrapped, out);
}

void EnvelopeEncoder::encode_truncate(const TableSchema& table, const SourceInfo& source,
                                      int64_t now_ms, std::string& out) const {
  out.clear();
  const bool wrapped = options_.envelope == EnvelopeForm::kSchemaPayload;
  if (wrapped) open_payload(connect_schemas(table).value, out);
  out.append("{\"before\":null,\"after\":null,");
  append_source(table.module, table.database, table.schema, table.table, &table.version, source,
                options_.values, out);
  append_tail(Op::kTruncate, now_ms, out);
  out.push_back('}');
  close_payload(wrapped, out);
}

void EnvelopeEncoder::encode_message(std::string_view module, std::string_view database,
                                     std::string_view prefix, std::string_view content,
                                     bool transactional, const SourceInfo& source, int64_t now_ms,
                                     std::string& out) const {
  out.clear();
  const bool wrapped = options_.envelope == EnvelopeForm::kSchemaPayload;
  if (wrapped) {
    if (message_schema_.empty()) message_schema_ = detail::connect_message_schema();
    open_payload(message_schema_, out);
  }
  out.append("{\"op\":\"m\",");
  append_source(module, database, "", "", nullptr, source, options_.values, out);
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
  close_payload(wrapped, out);
}

}  // namespace modsync::event
