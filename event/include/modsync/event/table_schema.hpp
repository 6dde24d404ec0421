#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "modsync/event/row.hpp"

namespace modsync::event {

/// What the event encoder knows of a source table: its identity, its columns in wire order,
/// the schema version those columns are (1, then +1 each time the columns or their types
/// change) and the topic its events go to.
struct TableSchema {
  std::string module;  ///< the source module, e.g. "orders"
  std::string database;
  std::string schema;  ///< PostgreSQL namespace, e.g. "public"
  std::string table;
  std::vector<Column> columns;
  uint32_t version = 1;
  std::string topic;
  bool has_key() const {
    for (const auto& c : columns)
      if (c.key) return true;
    return false;
  }
};

}  // namespace modsync::event
