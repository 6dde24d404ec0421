#pragma once
// A table's schema-qualified name as the catalog spells it, for the source and the sink.

#include <string>

namespace modsync::pg {

struct QualifiedName {
  std::string schema;
  std::string table;
  std::string to_string() const { return schema + "." + table; }
  friend bool operator==(const QualifiedName&, const QualifiedName&) = default;
};

}  // namespace modsync::pg
