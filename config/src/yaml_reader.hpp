#pragma once
// Private: walks a parsed YAML document and records every problem as a Diagnostic instead of
// stopping at the first, so a user fixes a file in one round trip.

#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "modsync/config/config_error.hpp"
#include "modsync/config/duration.hpp"
#include "modsync/config/interpolation.hpp"

namespace modsync::config::detail {

/// A value in the document together with where it was written and its key path. `mark` is the
/// key's position for map entries (that is where an editor should jump) and the item's position
/// for sequence items.
struct Field {
  YAML::Node value;
  YAML::Mark mark;
  std::string path;
};

/// Collects diagnostics for one file and interpolates scalars. Not thread-safe.
class YamlReader {
 public:
  YamlReader(std::string file, const EnvLookup& env, std::vector<Diagnostic>& out)
      : file_(std::move(file)), env_(env), out_(out) {}

  const std::string& file() const { return file_; }

  /// Records "path: message" at `mark`.
  void error(const YAML::Mark& mark, const std::string& path, std::string message);
  /// Records "path: expected …; got …. Fix: …." at `mark`.
  void expected(const YAML::Mark& mark, const std::string& path, std::string_view expected,
                std::string_view got, std::string_view fix);

  /// The interpolated text of a scalar; records an error (and returns nullopt) for a mapping,
  /// a sequence or a failed interpolation.
  std::optional<std::string> string(const Field& f);
  /// The interpolated text, which must be one of `choices`.
  std::optional<std::string> choice(const Field& f, std::span<const std::string_view> choices);
  std::optional<Duration> duration(const Field& f, bool allow_zero);
  /// A whole number from 1 to `max`.
  std::optional<uint64_t> positive_integer(const Field& f,
                                           uint64_t max = std::numeric_limits<uint64_t>::max());
  /// A byte size (16MiB, 512KiB, 4096) from `min` to `max` bytes.
  std::optional<uint64_t> byte_size(const Field& f, uint64_t min, uint64_t max);
  std::optional<bool> boolean(const Field& f);
  /// The items of a sequence, or nullopt (after recording an error) when `f` is not one.
  std::optional<std::vector<Field>> sequence(const Field& f);

  /// Entries of a mapping: each key's text with its field. Records an error for duplicate keys
  /// and for keys not in `known` (with a "did you mean" when one is close). nullopt when `f` is
  /// not a mapping. An empty `known` accepts any key.
  std::optional<std::vector<std::pair<std::string, Field>>> mapping(
      const Field& f, std::span<const std::string_view> known);

 private:
  std::string file_;
  const EnvLookup& env_;
  std::vector<Diagnostic>& out_;
};

/// A mapping's entries looked up by key; absent and null values read as "not set".
class MapView {
 public:
  MapView(YamlReader& reader, const Field& self, std::vector<std::pair<std::string, Field>> entries)
      : reader_(reader), self_(self), entries_(std::move(entries)) {}

  /// The entry for `key` when present and not null.
  std::optional<Field> get(std::string_view key) const;
  /// Like get(), but records "expected <what>; got nothing. Fix: add <key>: …" when absent.
  std::optional<Field> require(std::string_view key, std::string_view what,
                               std::string_view example) const;
  const Field& self() const { return self_; }
  std::string child_path(std::string_view key) const;

 private:
  YamlReader& reader_;
  Field self_;
  std::vector<std::pair<std::string, Field>> entries_;
};

/// Opens `f` as a mapping with the given known keys; nullopt when it is not one.
std::optional<MapView> open_map(YamlReader& reader, const Field& f,
                                std::span<const std::string_view> known);

/// "a mapping", "a sequence", "nothing" or the quoted scalar.
std::string describe_node(const YAML::Node& node);
/// Optimal-string-alignment distance (Levenshtein plus adjacent transpositions), ASCII
/// case-insensitive.
size_t edit_distance(std::string_view a, std::string_view b);
/// The closest candidate within a distance proportional to its length, or "".
std::string_view closest(std::string_view word, std::span<const std::string_view> candidates);
/// "a, b or c"
std::string join_choices(std::span<const std::string_view> choices, std::string_view last_sep);

}  // namespace modsync::config::detail
