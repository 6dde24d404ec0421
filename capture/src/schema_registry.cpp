#include "modsync/capture/schema_registry.hpp"

#include <fmt/format.h>

#include "modsync/event/envelope.hpp"

namespace modsync::capture {

std::string SchemaRegistry::columns_json(const event::TableSchema& schema, bool with_type_names) {
  std::string out = "[";
  for (size_t i = 0; i < schema.columns.size(); ++i) {
    const auto& c = schema.columns[i];
    if (i > 0) out += ',';
    out += "{\"name\":";
    event::append_json_string(c.name, out);
    if (with_type_names && !c.type_name.empty()) {
      out += ",\"type\":";
      event::append_json_string(c.type_name, out);
    }
    out += fmt::format(",\"type_oid\":{},\"type_modifier\":{},\"key\":{}}}", c.type_oid,
                       c.type_modifier, c.key ? "true" : "false");
  }
  out += ']';
  return out;
}

std::string SchemaRegistry::schema_event_json(const event::TableSchema& schema, Lsn since) {
  std::string out = "{\"module\":";
  event::append_json_string(schema.module, out);
  out += ",\"database\":";
  event::append_json_string(schema.database, out);
  out += ",\"schema\":";
  event::append_json_string(schema.schema, out);
  out += ",\"table\":";
  event::append_json_string(schema.table, out);
  out += fmt::format(",\"version\":{},\"since_lsn\":\"{}\",\"topic\":", schema.version, since);
  event::append_json_string(schema.topic, out);
  out += ",\"columns\":";
  out += columns_json(schema, true);
  out += '}';
  return out;
}

SchemaRegistry::Update SchemaRegistry::on_relation(uint32_t relation_id, event::TableSchema schema,
                                                   Lsn at) {
  const std::string columns = columns_json(schema);
  auto it = tables_.find(relation_id);
  if (it != tables_.end() && it->second.schema == schema.schema &&
      it->second.table == schema.table && columns_json(it->second) == columns) {
    return {&it->second, false};
  }
  uint32_t latest = 0;
  uint32_t matching = 0;
  for (const auto& v : store_.load_schema_versions()) {
    if (v.schema != schema.schema || v.table != schema.table) continue;
    latest = std::max(latest, v.version);
    if (v.columns_json == columns) matching = std::max(matching, v.version);
  }
  if (matching != 0) {
    schema.version = matching;
  } else {
    schema.version = latest + 1;
    store_.save_schema_version(
        checkpoint::SchemaVersion{schema.schema, schema.table, schema.version, columns, at});
  }
  auto& slot = tables_[relation_id];
  slot = std::move(schema);
  return {&slot, true};
}

const event::TableSchema* SchemaRegistry::find(uint32_t relation_id) const {
  auto it = tables_.find(relation_id);
  return it == tables_.end() ? nullptr : &it->second;
}

}  // namespace modsync::capture
