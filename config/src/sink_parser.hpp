#pragma once
// Parses the sink section of a pair: connection, batching and the projections with their
// columns, filters, operations and version rules. Private to the library.

#include "section_parser.hpp"

namespace modsync::config::detail {

class SinkParser : SectionParser {
 public:
  SinkParser(YamlReader& reader, std::filesystem::path file)
      : SectionParser(reader, std::move(file)) {}

  /// Records problems in the reader and returns what could be understood.
  SinkConfig parse(const Field& field);

 private:
  Projection parse_projection(const Field& field);
  void parse_columns(const Field& f, Projection& p);
  void parse_versions(const Field& f, Projection& p);
};

}  // namespace modsync::config::detail
