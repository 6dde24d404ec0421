#pragma once
// Byte sizes as written in configuration files: "512KiB", "16MiB", "1GiB", or a bare integer
// meaning bytes. Binary units only: "MB" would leave the reader guessing 10^6 or 2^20.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace modsync::config {

inline constexpr uint64_t kKiB = uint64_t{1} << 10;
inline constexpr uint64_t kMiB = uint64_t{1} << 20;
inline constexpr uint64_t kGiB = uint64_t{1} << 30;

/// Parses "<digits>[B|KiB|MiB|GiB]"; a bare integer means bytes. nullopt when malformed or
/// beyond 2^63. Surrounding whitespace is not accepted.
std::optional<uint64_t> parse_byte_size(std::string_view text);

/// Prints the largest unit dividing it exactly: 16777216 → "16MiB", 2048 → "2KiB",
/// 1536 → "1536B", 0 → "0B".
std::string format_byte_size(uint64_t bytes);

}  // namespace modsync::config
