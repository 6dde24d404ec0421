#pragma once
// The shapes of names and values the loader accepts (ids, modules, slots, identifiers, columns,
// topics), and reading an enum by its names. Private to the library.

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

inline constexpr size_t kMaxIdentifier = 63;  // PostgreSQL's NAMEDATALEN - 1

/// [a-z0-9_-]+
bool is_daemon_id(std::string_view s);
/// [a-z0-9_]+
bool is_module_name(std::string_view s);
/// [a-z0-9_]{1,63}
bool is_slot_name(std::string_view s);
/// A catalog name as written without quotes: letters, digits, '_' and '$', not starting with a
/// digit or '$'.
bool is_identifier(std::string_view s);
/// A column name as the catalog spells it (what a quoted identifier can hold): 1 to 63 bytes,
/// no NUL, and no ',' (modsync lists column names comma-separated in its stage).
bool is_column_name(std::string_view s);
/// [A-Za-z0-9._-]{1,249}
bool is_topic_name(std::string_view s);
/// `s` cut at every `sep`; "" gives one empty part.
std::vector<std::string_view> split(std::string_view s, char sep);
/// Where `f` was written, 1-based.
Location location_of(const YamlReader& reader, const Field& f);

template <typename Enum, size_t N>
constexpr std::array<std::string_view, N> names_of(const std::array<EnumName<Enum>, N>& names) {
  std::array<std::string_view, N> out{};
  for (size_t i = 0; i < N; ++i) out[i] = names[i].name;
  return out;
}

/// Reads `f` as one of the names in `names`; records an error and returns nullopt otherwise.
template <typename Enum, size_t N>
std::optional<Enum> enum_choice(YamlReader& reader, const Field& f,
                                const std::array<EnumName<Enum>, N>& names) {
  const auto choices = names_of(names);
  const auto v = reader.choice(f, choices);
  if (!v) return std::nullopt;
  for (const auto& n : names) {
    if (n.name == *v) return n.value;
  }
  return std::nullopt;
}

}  // namespace modsync::config::detail
