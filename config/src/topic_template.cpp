#include "topic_template.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "modsync/common/json_string.hpp"
#include "yaml_reader.hpp"

namespace modsync::config::detail {

namespace {

bool is_topic_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

std::string placeholders(std::span<const std::string_view> allowed) {
  std::string out;
  for (std::string_view a : allowed) {
    if (!out.empty()) out += ' ';
    out += fmt::format("{{{}}}", a);
  }
  return out;
}

}  // namespace

std::string check_topic_template(std::string_view tmpl, std::span<const std::string_view> allowed) {
  const std::string expected = fmt::format(
      "a topic template of [A-Za-z0-9._-] and the placeholders {}", placeholders(allowed));
  if (tmpl.empty()) {
    return fmt::format("expected {}; got \"\". Fix: write a template such as {}.", expected,
                       "\"{module}.{schema}.{table}\"");
  }
  for (size_t i = 0; i < tmpl.size(); ++i) {
    const char c = tmpl[i];
    if (c == '{') {
      const size_t close = tmpl.find('}', i + 1);
      if (close == std::string_view::npos) {
        return fmt::format(
            "expected {}; got {} with an unclosed \"{{\". Fix: close it with \"}}\".", expected,
            json_quoted(tmpl));
      }
      const std::string_view name = tmpl.substr(i + 1, close - i - 1);
      if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
        const std::string_view suggestion = closest(name, allowed);
        const std::string fix = suggestion.empty()
                                    ? fmt::format("use only {}.", placeholders(allowed))
                                    : fmt::format("did you mean {{{}}}?", suggestion);
        return fmt::format("expected {}; got unknown placeholder {{{}}} in {}. Fix: {}", expected,
                           name, json_quoted(tmpl), fix);
      }
      i = close;
    } else if (!is_topic_char(c)) {
      return fmt::format(
          "expected {}; got {} containing {}. Fix: Kafka topic names allow only letters, digits, "
          "'.', '_' and '-'.",
          expected, json_quoted(tmpl), json_quoted(std::string_view(&tmpl[i], 1)));
    }
  }
  return {};
}

std::string expand_topic_template(std::string_view tmpl, const TemplateValues& values) {
  std::string out;
  for (size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl[i] != '{') {
      out += tmpl[i];
      continue;
    }
    const size_t close = tmpl.find('}', i + 1);
    if (close == std::string_view::npos) {
      out += tmpl.substr(i);
      break;
    }
    const std::string_view name = tmpl.substr(i + 1, close - i - 1);
    if (name == "module") {
      out += values.module;
    } else if (name == "schema") {
      out += values.schema;
    } else if (name == "table") {
      out += values.table;
    } else if (name == "prefix") {
      out += values.prefix;
    } else {
      out += tmpl.substr(i, close - i + 1);
    }
    i = close;
  }
  return out;
}

}  // namespace modsync::config::detail
