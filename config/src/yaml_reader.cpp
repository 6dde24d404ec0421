#include "yaml_reader.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>

#include <fmt/format.h>

#include "modsync/common/json_string.hpp"
#include "modsync/config/byte_size.hpp"

namespace modsync::config::detail {

void YamlReader::error(const YAML::Mark& mark, const std::string& path, std::string message) {
  Diagnostic d;
  d.file = file_;
  // yaml-cpp marks are 0-based and -1 for nodes that did not come from the parser.
  d.line = mark.line >= 0 ? mark.line + 1 : 0;
  d.column = mark.column >= 0 ? mark.column + 1 : 0;
  d.path = path;
  d.message = std::move(message);
  out_.push_back(std::move(d));
}

void YamlReader::expected(const YAML::Mark& mark, const std::string& path,
                          std::string_view expected, std::string_view got, std::string_view fix) {
  // A fix phrased as a question ("did you mean …?") already ends its sentence.
  const bool ends_sentence = fix.ends_with('?') || fix.ends_with('.');
  error(
      mark, path,
      fmt::format("expected {}; got {}. Fix: {}{}", expected, got, fix, ends_sentence ? "" : "."));
}

std::optional<std::string> YamlReader::string(const Field& f) {
  if (!f.value.IsScalar()) {
    expected(f.mark, f.path, "a string", describe_node(f.value),
             "write a single value (quote it if it contains \": \" or starts with \"{\" or \"[\")");
    return std::nullopt;
  }
  Interpolated result = interpolate(f.value.Scalar(), env_);
  if (!result.error.empty()) {
    error(f.mark, f.path, std::move(result.error));
    return std::nullopt;
  }
  return std::move(result.value);
}

std::optional<std::string> YamlReader::choice(const Field& f,
                                              std::span<const std::string_view> choices) {
  auto text = string(f);
  if (!text) return std::nullopt;
  if (std::find(choices.begin(), choices.end(), *text) != choices.end()) return text;
  const std::string key = f.path.substr(f.path.rfind('.') + 1);
  expected(f.mark, f.path, fmt::format("one of {}", join_choices(choices, ", ")), json_quoted(*text),
           fmt::format("set {} to {}", key, join_choices(choices, " or ")));
  return std::nullopt;
}

std::optional<Duration> YamlReader::duration(const Field& f, bool allow_zero) {
  auto text = string(f);
  if (!text) return std::nullopt;
  auto d = parse_duration(*text);
  if (!d) {
    expected(f.mark, f.path, "a duration such as 250ms, 5s, 2m, 1h or a number of seconds",
             json_quoted(*text), "write a whole number followed by ms, s, m or h");
    return std::nullopt;
  }
  if (!allow_zero && d->count() == 0) {
    expected(f.mark, f.path, "a duration greater than zero", json_quoted(*text),
             "use a positive duration such as 1s");
    return std::nullopt;
  }
  return d;
}

std::optional<uint64_t> YamlReader::positive_integer(const Field& f, uint64_t max) {
  auto text = string(f);
  if (!text) return std::nullopt;
  uint64_t n = 0;
  const char* end = text->data() + text->size();
  auto [ptr, ec] = std::from_chars(text->data(), end, n);
  const bool bounded = max != std::numeric_limits<uint64_t>::max();
  const std::string wanted =
      bounded ? fmt::format("a whole number from 1 to {}", max) : "a positive whole number";
  if (ec == std::errc::result_out_of_range || (ec == std::errc{} && ptr == end && n > max)) {
    expected(f.mark, f.path, wanted, json_quoted(*text), fmt::format("write a number from 1 to {}", max));
    return std::nullopt;
  }
  if (ec != std::errc{} || ptr != end || text->empty() || n == 0) {
    expected(f.mark, f.path, wanted, json_quoted(*text),
             "write a number such as 1000 (no units, no separators)");
    return std::nullopt;
  }
  return n;
}

std::optional<uint64_t> YamlReader::byte_size(const Field& f, uint64_t min, uint64_t max) {
  auto text = string(f);
  if (!text) return std::nullopt;
  const auto n = parse_byte_size(*text);
  if (!n) {
    expected(f.mark, f.path, "a byte size such as 512KiB, 16MiB, 1GiB or a number of bytes",
             json_quoted(*text), "write a whole number followed by KiB, MiB or GiB (binary units)");
    return std::nullopt;
  }
  if (*n < min || *n > max) {
    expected(
        f.mark, f.path,
        fmt::format("a size from {} to {}", format_byte_size(min), format_byte_size(max)),
        json_quoted(*text),
        fmt::format("write a size from {} to {}", format_byte_size(min), format_byte_size(max)));
    return std::nullopt;
  }
  return n;
}

std::optional<bool> YamlReader::boolean(const Field& f) {
  auto text = string(f);
  if (!text) return std::nullopt;
  if (*text == "true") return true;
  if (*text == "false") return false;
  const std::string key = f.path.substr(f.path.rfind('.') + 1);
  expected(f.mark, f.path, "true or false", json_quoted(*text),
           fmt::format("set {} to true or false", key));
  return std::nullopt;
}

std::optional<std::vector<Field>> YamlReader::sequence(const Field& f) {
  if (!f.value.IsSequence()) {
    expected(f.mark, f.path, "a list", describe_node(f.value),
             "write the items as [a, b] or one \"- item\" per line");
    return std::nullopt;
  }
  std::vector<Field> items;
  for (size_t i = 0; i < f.value.size(); ++i) {
    const YAML::Node item = f.value[i];
    items.push_back(Field{item, item.Mark(), fmt::format("{}[{}]", f.path, i)});
  }
  return items;
}

std::optional<std::vector<std::pair<std::string, Field>>> YamlReader::mapping(
    const Field& f, std::span<const std::string_view> known) {
  if (!f.value.IsMap()) {
    expected(f.mark, f.path, "a mapping of keys to values", describe_node(f.value),
             "write \"key: value\" pairs indented under it, or { key: value }");
    return std::nullopt;
  }
  std::vector<std::pair<std::string, Field>> entries;
  std::set<std::string> seen;
  for (const auto& kv : f.value) {
    const YAML::Mark mark = kv.first.Mark();
    if (!kv.first.IsScalar()) {
      expected(mark, f.path, "a plain key", describe_node(kv.first), "use a single word as key");
      continue;
    }
    const std::string key = kv.first.Scalar();
    const std::string path = f.path.empty() ? key : f.path + "." + key;
    if (!known.empty() && std::find(known.begin(), known.end(), key) == known.end()) {
      const std::string_view suggestion = closest(key, known);
      if (!suggestion.empty()) {
        expected(mark, path, "a known key", fmt::format("unknown key {}", json_quoted(key)),
                 fmt::format("did you mean \"{}\"?", suggestion));
      } else {
        expected(mark, path, "a known key", fmt::format("unknown key {}", json_quoted(key)),
                 fmt::format("remove it; the keys allowed here are {}", join_choices(known, ", ")));
      }
      continue;
    }
    if (!seen.insert(key).second) {
      expected(mark, path, "each key once", fmt::format("{} a second time", json_quoted(key)),
               "remove one of the two entries");
      continue;
    }
    entries.emplace_back(key, Field{kv.second, mark, path});
  }
  return entries;
}

std::optional<Field> MapView::get(std::string_view key) const {
  for (const auto& [k, field] : entries_) {
    if (k == key) {
      if (field.value.IsNull()) return std::nullopt;
      return field;
    }
  }
  return std::nullopt;
}

std::optional<Field> MapView::require(std::string_view key, std::string_view what,
                                      std::string_view example) const {
  auto f = get(key);
  if (!f) {
    const std::string where = self_.path.empty() ? "at the top level" : "under " + self_.path;
    reader_.expected(self_.mark, child_path(key), what, "nothing",
                     fmt::format("add \"{}: {}\" {}", key, example, where));
  }
  return f;
}

std::string MapView::child_path(std::string_view key) const {
  return self_.path.empty() ? std::string(key) : self_.path + "." + std::string(key);
}

std::optional<MapView> open_map(YamlReader& reader, const Field& f,
                                std::span<const std::string_view> known) {
  auto entries = reader.mapping(f, known);
  if (!entries) return std::nullopt;
  return MapView(reader, f, std::move(*entries));
}

std::string describe_node(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return json_quoted(node.Scalar());
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return "nothing";
  }
  return "nothing";
}

size_t edit_distance(std::string_view a, std::string_view b) {
  auto lower = [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  };
  const size_t n = a.size(), m = b.size();
  std::vector<std::vector<size_t>> d(n + 1, std::vector<size_t>(m + 1));
  for (size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (size_t i = 1; i <= n; ++i) {
    for (size_t j = 1; j <= m; ++j) {
      const size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
          lower(a[i - 2]) == lower(b[j - 1])) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[n][m];
}

std::string_view closest(std::string_view word, std::span<const std::string_view> candidates) {
  std::string_view best;
  size_t best_distance = 0;
  for (std::string_view c : candidates) {
    const size_t dist = edit_distance(word, c);
    const size_t limit = std::max<size_t>(1, std::max(word.size(), c.size()) / 3);
    if (dist <= limit && (best.empty() || dist < best_distance)) {
      best = c;
      best_distance = dist;
    }
  }
  return best;
}

std::string join_choices(std::span<const std::string_view> choices, std::string_view last_sep) {
  std::string out;
  for (size_t i = 0; i < choices.size(); ++i) {
    if (i > 0) out += (i + 1 == choices.size()) ? last_sep : std::string_view(", ");
    out += choices[i];
  }
  return out;
}

}  // namespace modsync::config::detail
