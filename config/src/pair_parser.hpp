#pragma once
// Parses one file's module pair: the top-level sections, daemon, kafka and source; the sink
// section is SinkParser's. Private to the library.

#include "section_parser.hpp"

namespace modsync::config::detail {

/// Parses one file; records problems in the reader and returns what could be understood.
class PairParser : SectionParser {
 public:
  PairParser(YamlReader& reader, std::filesystem::path file)
      : SectionParser(reader, std::move(file)) {}

  PairConfig parse(const YAML::Node& root);

  /// Where daemon.id was written, for the directory-wide uniqueness check.
  const Location& id_location() const { return id_location_; }

 private:
  void parse_daemon(const Field& field, DaemonConfig& d);
  void parse_kafka(const Field& field, KafkaConfig& k);
  SourceConfig parse_source(const Field& field, const DaemonConfig& daemon);

  Location id_location_;
};

}  // namespace modsync::config::detail
