#include "modsync/capture/schema_registry.hpp"

#include "modsync/event/schema_event.hpp"

namespace modsync::capture {

SchemaRegistry::Update SchemaRegistry::on_relation(uint32_t relation_id, event::TableSchema schema,
                                                   Lsn at) {
  const std::string columns = event::schema_columns_json(schema);
  auto it = tables_.find(relation_id);
  if (it != tables_.end() && it->second.schema == schema.schema &&
      it->second.table == schema.table && event::schema_columns_json(it->second) == columns) {
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
