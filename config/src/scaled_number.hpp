#pragma once
// Private: "<digits><unit>" as durations and byte sizes write it.

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <utility>

namespace modsync::config::detail {

/// A unit's name (may be "") and how many base units it is.
using Unit = std::pair<std::string_view, uint64_t>;

/// Parses "<digits><unit>" for one of `units`, as base units; nullopt when malformed, the unit
/// unknown, or the value above `max`. No sign, no fraction, no surrounding whitespace.
std::optional<uint64_t> parse_scaled(std::string_view text, std::span<const Unit> units,
                                     uint64_t max);

}  // namespace modsync::config::detail
