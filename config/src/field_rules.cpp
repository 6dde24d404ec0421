#include "field_rules.hpp"

#include <algorithm>

namespace modsync::config::detail {

namespace {

bool is_lower_digit_underscore(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

bool all_of(std::string_view s, bool (*pred)(char)) {
  return !s.empty() && std::all_of(s.begin(), s.end(), pred);
}

}  // namespace

bool is_daemon_id(std::string_view s) {
  return all_of(s, [](char c) { return is_lower_digit_underscore(c) || c == '-'; });
}

bool is_module_name(std::string_view s) {
  return all_of(s, is_lower_digit_underscore);
}

bool is_slot_name(std::string_view s) {
  return s.size() <= kMaxIdentifier && all_of(s, is_lower_digit_underscore);
}

/// A catalog name as written without quotes: letters, digits, '_' and '$', not starting with a
/// digit or '$'.
bool is_identifier(std::string_view s) {
  if (s.empty() || s.size() > kMaxIdentifier) return false;
  if ((s[0] >= '0' && s[0] <= '9') || s[0] == '$') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '$';
  });
}

/// A column name as the catalog spells it (what a quoted identifier can hold): 1 to 63 bytes,
/// no NUL, and no ',' (modsync lists column names comma-separated in its stage).
bool is_column_name(std::string_view s) {
  return !s.empty() && s.size() <= kMaxIdentifier && s.find('\0') == std::string_view::npos &&
         s.find(',') == std::string_view::npos;
}

bool is_topic_name(std::string_view s) {
  return !s.empty() && s.size() <= 249 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t at = s.find(sep, start);
    parts.push_back(s.substr(start, at - start));
    if (at == std::string_view::npos) return parts;
    start = at + 1;
  }
}

Location location_of(const YamlReader& reader, const Field& f) {
  return Location{reader.file(), f.mark.line >= 0 ? f.mark.line + 1 : 0,
                  f.mark.column >= 0 ? f.mark.column + 1 : 0};
}

}  // namespace modsync::config::detail
