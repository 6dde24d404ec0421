#pragma once
// Durations as written in configuration files: "250ms", "5s", "2m", "1h", or a bare integer
// meaning seconds.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace modsync::config {

using Duration = std::chrono::milliseconds;

/// Parses "<digits>[ms|s|m|h]"; a bare integer means seconds. nullopt when malformed, negative,
/// or too large to hold in milliseconds. Surrounding whitespace is not accepted.
std::optional<Duration> parse_duration(std::string_view text);

/// Prints the largest exact unit: 30000ms → "30s", 120000ms → "2m", 250ms → "250ms", 0 → "0s".
std::string format_duration(Duration d);

}  // namespace modsync::config
