#include "modsync/event/schema_event.hpp"

#include <fmt/format.h>

#include "modsync/event/envelope.hpp"

namespace modsync::event {

std::string schema_columns_json(const TableSchema& schema, bool with_type_names) {
  std::string out = "[";
  for (size_t i = 0; i < schema.columns.size(); ++i) {
    const auto& c = schema.columns[i];
    if (i > 0) out += ',';
    out += "{\"name\":";
    append_json_string(c.name, out);
    if (with_type_names && !c.type_name.empty()) {
      out += ",\"type\":";
      append_json_string(c.type_name, out);
    }
    out += fmt::format(",\"type_oid\":{},\"type_modifier\":{},\"key\":{}}}", c.type_oid,
                       c.type_modifier, c.key ? "true" : "false");
  }
  out += ']';
  return out;
}

std::string encode_schema_event(const TableSchema& schema, Lsn since) {
  std::string out = "{\"module\":";
  append_json_string(schema.module, out);
  out += ",\"database\":";
  append_json_string(schema.database, out);
  out += ",\"schema\":";
  append_json_string(schema.schema, out);
  out += ",\"table\":";
  append_json_string(schema.table, out);
  out += fmt::format(",\"version\":{},\"since_lsn\":\"{}\",\"topic\":", schema.version, since);
  append_json_string(schema.topic, out);
  out += ",\"columns\":";
  out += schema_columns_json(schema, true);
  out += '}';
  return out;
}

std::optional<SchemaEvent> read_schema_event(simdjson::dom::parser& parser,
                                             std::string_view value) {
  simdjson::dom::element doc;
  if (parser.parse(value.data(), value.size()).get(doc)) return std::nullopt;
  std::string_view module, schema, table;
  SchemaEvent event;
  simdjson::dom::array columns;
  if (doc["module"].get(module) || doc["schema"].get(schema) || doc["table"].get(table) ||
      doc["version"].get(event.version) || doc["columns"].get(columns))
    return std::nullopt;
  event.module = module;
  event.schema = schema;
  event.table = table;
  for (simdjson::dom::element c : columns) {
    std::string_view name, type_name;
    uint64_t type_oid = 0;
    int64_t type_modifier = 0;
    bool key = false;
    if (c["name"].get(name) || c["type_oid"].get(type_oid) ||
        c["type_modifier"].get(type_modifier) || c["key"].get(key))
      return std::nullopt;
    SchemaColumn& col = event.columns.emplace_back();
    col.name = name;
    col.type_oid = static_cast<uint32_t>(type_oid);
    col.type_modifier = static_cast<int32_t>(type_modifier);
    col.key = key;
    if (c["type"].get(type_name) == simdjson::SUCCESS) col.type_name = type_name;
  }
  return event;
}

}  // namespace modsync::event
