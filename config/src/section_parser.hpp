#pragma once
// What the parsers of the pair's sections share: the reader that records problems, the file
// (relative paths start at its folder), and the readers of fields several sections have.
// Private to the library.

#include <array>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "modsync/config/config.hpp"
#include "yaml_reader.hpp"

namespace modsync::config::detail {

class SectionParser {
 protected:
  SectionParser(YamlReader& reader, std::filesystem::path file)
      : r_(reader), file_(std::move(file)) {}

  /// Records "expected …; got …. Fix: …" at `f` unless `ok`.
  void check(bool ok, const Field& f, std::string_view expected, std::string_view got,
             std::string_view fix) {
    if (!ok) r_.expected(f.mark, f.path, expected, got, fix);
  }

  /// Reads dsn and password_file into (dsn, password_file, effective_dsn).
  void parse_connection(const MapView& map, std::string& dsn,
                        std::optional<std::filesystem::path>& password_file,
                        EffectiveDsn& effective_dsn);

  /// The required `module`; nullopt (recorded) when missing or malformed.
  std::optional<std::string> module_name(const MapView& map, std::string_view example);

  /// Records a problem of a topic template using placeholders other than `allowed`.
  void check_template(const Field& f, const std::string& value,
                      std::span<const std::string_view> allowed);

  /// "schema.table" or "table" (schema public).
  std::optional<TableName> table_name(const Field& f, const std::string& text);

  /// A column name; records an error and returns nullopt when invalid.
  std::optional<std::string> column_name(const Field& f);

  YamlReader& r_;
  std::filesystem::path file_;
};

}  // namespace modsync::config::detail
