#include "modsync/config/interpolation.hpp"

#include <cstdlib>

#include <fmt/format.h>

namespace modsync::config {

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

namespace {

bool is_name_start(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
bool is_name_char(char c) {
  return is_name_start(c) || (c >= '0' && c <= '9');
}

}  // namespace

Interpolated interpolate(std::string_view text, const EnvLookup& env) {
  Interpolated out;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c != '$' || i + 1 == text.size()) {
      out.value += c;
      ++i;
      continue;
    }
    if (text[i + 1] == '$') {
      out.value += '$';
      i += 2;
      continue;
    }
    if (text[i + 1] != '{') {
      out.value += c;
      ++i;
      continue;
    }
    const size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      out.error = fmt::format(
          "expected ${{NAME}} or ${{NAME:-default}}; got an unterminated \"${{\". Fix: close it "
          "with \"}}\", or write \"$$\" for a literal \"$\".");
      return out;
    }
    const std::string_view inner = text.substr(i + 2, close - i - 2);
    const size_t sep = inner.find(":-");
    const std::string_view name = inner.substr(0, sep);
    bool valid = !name.empty() && is_name_start(name[0]);
    for (char n : name) valid = valid && is_name_char(n);
    if (!valid) {
      out.error = fmt::format(
          "expected an environment variable name [A-Za-z_][A-Za-z0-9_]* inside ${{…}}; got "
          "\"{}\". Fix: correct the name, or write \"$$\" for a literal \"$\".",
          name);
      return out;
    }
    const std::optional<std::string> value = env(std::string(name));
    if (sep != std::string_view::npos) {
      if (value && !value->empty()) {
        out.value += *value;
      } else {
        out.value += inner.substr(sep + 2);
      }
    } else if (value) {
      out.value += *value;
    } else {
      out.error = fmt::format(
          "expected environment variable {0} to be set; got unset. Fix: export {0}, or give a "
          "default with ${{{0}:-default}}.",
          name);
      return out;
    }
    i = close + 1;
  }
  return out;
}

}  // namespace modsync::config
