#include "connect_schema.hpp"

#include "json_append.hpp"
#include "modsync/event/debezium.hpp"
#include "modsync/event/pg_types.hpp"

namespace modsync::event::detail {
namespace {

void append_named(std::string_view type, std::string_view name, std::string& out) {
  out.append("{\"type\":\"");
  out.append(type);
  out.append("\",\"name\":\"");
  out.append(name);
  out.append("\",\"version\":1");
}

// Opens the schema of a value of `type_oid` in modsync's value forms (type_mapping.cpp): "{" and
// its members, without "optional" and the closing brace.
void open_modsync_schema(uint32_t type_oid, std::string& out) {
  std::string_view type = "string";
  switch (type_oid) {
    case pg::kBoolOid:
      type = "boolean";
      break;
    case pg::kInt2Oid:
      type = "int16";
      break;
    case pg::kInt4Oid:
      type = "int32";
      break;
    case pg::kInt8Oid:
    case pg::kOidOid:
      type = "int64";
      break;
    case pg::kFloat4Oid:
      type = "float32";
      break;
    case pg::kFloat8Oid:
      type = "float64";
      break;
    case pg::kByteaOid:
      type = "bytes";
      break;
    case pg::kJsonOid:
    case pg::kJsonbOid:
      return append_named("string", debezium::kJson, out);
    case pg::kUuidOid:
      return append_named("string", debezium::kUuid, out);
    case pg::kTimestampTzOid:
      return append_named("string", debezium::kZonedTimestamp, out);
    case pg::kTimeTzOid:
      return append_named("string", debezium::kZonedTime, out);
    default:
      if (const uint32_t element = pg::array_element_oid(type_oid); element != 0) {
        out.append("{\"type\":\"array\",\"items\":");
        open_modsync_schema(element, out);
        out.append(",\"optional\":true}");
        return;
      }
  }
  out.append("{\"type\":\"");
  out.append(type);
  out.push_back('"');
}

void open_column_schema(const Column& column, ValueMode mode, std::string& out) {
  if (mode == ValueMode::kModsync) return open_modsync_schema(column.type_oid, out);
  switch (debezium::form_of(column)) {
    case debezium::Form::kAsModsync:
      return open_modsync_schema(column.type_oid, out);
    case debezium::Form::kDate:
      return append_named("int32", debezium::kDate, out);
    case debezium::Form::kTimeMillis:
      return append_named("int32", debezium::kTime, out);
    case debezium::Form::kTimeMicros:
      return append_named("int64", debezium::kMicroTime, out);
    case debezium::Form::kTimestampMillis:
      return append_named("int64", debezium::kTimestamp, out);
    case debezium::Form::kTimestampMicros:
      return append_named("int64", debezium::kMicroTimestamp, out);
    case debezium::Form::kDecimal: {
      int32_t precision = 0, scale = 0;
      debezium::numeric_precision_scale(column.type_modifier, precision, scale);
      append_named("bytes", debezium::kDecimal, out);
      out.append(",\"parameters\":{\"scale\":\"");
      append_decimal(scale, out);
      out.append("\",\"connect.decimal.precision\":\"");
      append_decimal(precision, out);
      out.append("\"}");
      return;
    }
    case debezium::Form::kVariableScaleDecimal:
      out.append(
          "{\"type\":\"struct\",\"fields\":[{\"type\":\"int32\",\"optional\":false,\"field\":"
          "\"scale\"},{\"type\":\"bytes\",\"optional\":false,\"field\":\"value\"}],\"name\":\"");
      out.append(debezium::kVariableScaleDecimal);
      out.append("\",\"version\":1,\"doc\":\"Variable scaled decimal\"");
      return;
  }
}

void append_field(std::string_view type, bool optional, std::string_view field, std::string& out) {
  out.append("{\"type\":\"");
  out.append(type);
  out.append(optional ? "\",\"optional\":true,\"field\":\"" : "\",\"optional\":false,\"field\":\"");
  out.append(field);
  out.append("\"}");
}

// The row struct, open (the caller adds "field" and the closing brace).
void open_row_struct(const TableSchema& table, ValueMode mode, bool keys_only,
                     std::string_view suffix, bool optional, std::string& out) {
  out.append("{\"type\":\"struct\",\"fields\":[");
  bool first = true;
  for (const Column& c : table.columns) {
    if (keys_only && !c.key) continue;
    if (!first) out.push_back(',');
    first = false;
    open_column_schema(c, mode, out);
    // Key columns are never null; pgoutput does not say which other columns are NOT NULL.
    out.append(c.key ? ",\"optional\":false,\"field\":" : ",\"optional\":true,\"field\":");
    append_json_string(c.name, out);
    out.push_back('}');
  }
  out.append("],\"optional\":");
  out.append(optional ? "true" : "false");
  out.append(",\"name\":");
  append_json_string(table.topic + std::string(suffix), out);
}

void append_source_schema(std::string& out) {
  out.append("{\"type\":\"struct\",\"fields\":[");
  append_field("string", false, "version", out);
  out.push_back(',');
  append_field("string", false, "connector", out);
  out.push_back(',');
  append_field("string", false, "name", out);
  out.push_back(',');
  append_field("int64", false, "ts_ms", out);
  out.push_back(',');
  append_field("string", true, "snapshot", out);
  out.push_back(',');
  append_field("string", false, "db", out);
  out.push_back(',');
  append_field("string", false, "schema", out);
  out.push_back(',');
  append_field("string", false, "table", out);
  out.push_back(',');
  append_field("int64", true, "txId", out);
  out.push_back(',');
  append_field("int64", true, "lsn", out);
  out.push_back(',');
  append_field("string", false, "module", out);
  out.push_back(',');
  append_field("string", false, "position", out);
  out.push_back(',');
  append_field("int32", true, "schema_version", out);
  out.push_back(',');
  append_field("string", true, debezium::kValueModeField, out);
  out.append("],\"optional\":false,\"name\":\"");
  out.append(debezium::kSourceSchema);
  out.append("\",\"field\":\"source\"}");
}

}  // namespace

std::string connect_key_schema(const TableSchema& table, ValueMode mode) {
  std::string out;
  open_row_struct(table, mode, true, ".Key", false, out);
  out.push_back('}');
  return out;
}

std::string connect_envelope_schema(const TableSchema& table, ValueMode mode) {
  std::string row;
  open_row_struct(table, mode, false, ".Value", true, row);
  std::string out = "{\"type\":\"struct\",\"fields\":[";
  out.append(row).append(",\"field\":\"before\"},");
  out.append(row).append(",\"field\":\"after\"},");
  append_source_schema(out);
  out.push_back(',');
  append_field("string", false, "op", out);
  out.push_back(',');
  append_field("int64", true, "ts_ms", out);
  out.append(
      ",{\"type\":\"array\",\"items\":{\"type\":\"string\",\"optional\":false},\"optional\":true,"
      "\"field\":\"unchanged\"}],\"optional\":false,\"name\":");
  append_json_string(table.topic + ".Envelope", out);
  out.append(",\"version\":1}");
  return out;
}

std::string connect_message_schema() {
  std::string out = "{\"type\":\"struct\",\"fields\":[";
  append_field("string", false, "op", out);
  out.push_back(',');
  append_source_schema(out);
  out.append(",{\"type\":\"struct\",\"fields\":[");
  append_field("string", false, "prefix", out);
  out.push_back(',');
  append_field("string", false, "content", out);
  out.push_back(',');
  append_field("string", true, "content_encoding", out);
  out.push_back(',');
  append_field("boolean", false, "transactional", out);
  out.append("],\"optional\":false,\"name\":\"modsync.Message\",\"field\":\"message\"},");
  append_field("int64", true, "ts_ms", out);
  out.append("],\"optional\":false,\"name\":\"modsync.MessageValue\"}");
  return out;
}

}  // namespace modsync::event::detail
