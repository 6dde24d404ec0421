#pragma once
// Escaping shared by the log formatters and the status JSON. Private to the library.

#include <string>
#include <string_view>

namespace modsync::observability::detail {

/// Appends `text` as a JSON string literal, quotes included: `"` `\` and control characters are
/// escaped (\n \r \t, others as \u00XX); other bytes, including UTF-8, are copied as they are.
void append_json_string(std::string& out, std::string_view text);

/// Appends a logfmt value: bare when it is non-empty and holds no space, `=`, `"`, `\` or
/// control character; otherwise quoted with the same escapes as JSON.
void append_logfmt_value(std::string& out, std::string_view text);

}  // namespace modsync::observability::detail
