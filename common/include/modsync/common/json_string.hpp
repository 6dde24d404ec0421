#pragma once
// The one JSON string escaper: change events, status JSON, JSON logs and configuration errors
// all quote text through it.

#include <string>
#include <string_view>

namespace modsync {

/// Appends `text` as a JSON string literal, quotes included. `"`, `\` and the control
/// characters below 0x20 are escaped (\" \\ \n \r \t \b \f, others as \u00XX); every other
/// byte, UTF-8 included, is copied as it is. Allocation-free once `out` has room; the scan for
/// characters to escape runs eight bytes at a time (the event encoder's hottest loop).
void append_json_string(std::string_view text, std::string& out);

/// `text` as a JSON string literal (append_json_string into a new string).
std::string json_quoted(std::string_view text);

}  // namespace modsync
