#include "section_parser.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "field_rules.hpp"
#include "modsync/common/json_string.hpp"
#include "modsync/config/dsn.hpp"
#include "topic_template.hpp"

namespace modsync::config::detail {

void SectionParser::parse_connection(const MapView& map, std::string& dsn,
                                     std::optional<std::filesystem::path>& password_file,
                                     EffectiveDsn& effective_dsn) {
  std::optional<Field> dsn_field =
      map.require("dsn", "a libpq connection string or postgresql:// URI",
                  "\"host=localhost dbname=app user=modsync\"");
  if (dsn_field) {
    if (auto v = r_.string(*dsn_field)) {
      // A DSN that does not parse is not quoted at all, not even redacted: without libpq's
      // reading of it nobody can tell which part is the password.
      const std::string problem = dsn_syntax_error(*v);
      check(problem.empty(), *dsn_field,
            "a libpq connection string (key=value …) or postgresql:// URI",
            fmt::format("a DSN libpq cannot parse: {}", problem),
            "write e.g. \"host=db port=5432 dbname=app user=modsync\"");
      dsn = *v;
    }
  }
  effective_dsn = EffectiveDsn{dsn, ""};
  auto f = map.get("password_file");
  if (!f) return;
  auto v = r_.string(*f);
  if (!v) return;
  std::filesystem::path path = *v;
  if (path.is_relative()) path = file_.parent_path() / path;
  password_file = path;
  if (dsn_has_password(dsn)) {
    r_.expected(f->mark, f->path, "a password in either the dsn or password_file", "both",
                "remove the password from the dsn");
    return;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    r_.expected(f->mark, f->path, "a readable file", json_quoted(path.string()),
                "create the file or fix the path (relative paths start at the config file's "
                "folder)");
    return;
  }
  std::stringstream content;
  content << in.rdbuf();
  std::string password = content.str();
  // Secret files usually end with a newline that is not part of the password.
  while (!password.empty() && (password.back() == '\n' || password.back() == '\r')) {
    password.pop_back();
  }
  if (password.empty()) {
    r_.expected(f->mark, f->path, "a file holding the password", "an empty file",
                fmt::format("write the password into {}", path.string()));
    return;
  }
  effective_dsn.password = std::move(password);
}

std::optional<std::string> SectionParser::module_name(const MapView& map,
                                                      std::string_view example) {
  auto f = map.require("module", "a module name matching [a-z0-9_]+", example);
  if (!f) return std::nullopt;
  auto v = r_.string(*f);
  if (!v) return std::nullopt;
  check(is_module_name(*v), *f, "a module name matching [a-z0-9_]+", json_quoted(*v),
        "use only lowercase letters, digits and '_'");
  return v;
}

void SectionParser::check_template(const Field& f, const std::string& value,
                                   std::span<const std::string_view> allowed) {
  const std::string problem = check_topic_template(value, allowed);
  if (!problem.empty()) r_.error(f.mark, f.path, problem);
}

std::optional<TableName> SectionParser::table_name(const Field& f, const std::string& text) {
  const auto parts = split(text, '.');
  const bool ok = parts.size() <= 2 && std::all_of(parts.begin(), parts.end(), is_identifier);
  if (!ok) {
    r_.expected(f.mark, f.path, "a table as schema.table or table", json_quoted(text),
                "write e.g. public.orders (names of letters, digits and '_', at most 63 "
                "characters)");
    return std::nullopt;
  }
  if (parts.size() == 1) return TableName{"public", std::string(parts[0])};
  return TableName{std::string(parts[0]), std::string(parts[1])};
}

std::optional<std::string> SectionParser::column_name(const Field& f) {
  auto v = r_.string(f);
  if (!v) return std::nullopt;
  if (!is_column_name(*v)) {
    r_.expected(f.mark, f.path, "a column name", json_quoted(*v),
                "write the name as the catalog spells it (case and spaces included, no "
                "quotes), 1 to 63 bytes, without ','");
    return std::nullopt;
  }
  return v;
}

}  // namespace modsync::config::detail
