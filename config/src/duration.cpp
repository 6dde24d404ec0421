#include "modsync/config/duration.hpp"

#include <array>
#include <limits>

#include <fmt/format.h>

#include "scaled_number.hpp"

namespace modsync::config {

std::optional<Duration> parse_duration(std::string_view text) {
  static constexpr std::array<detail::Unit, 5> kUnits = {
      {{"ms", 1}, {"s", 1000}, {"", 1000}, {"m", 60 * 1000}, {"h", 60 * 60 * 1000}}};
  const auto ms = detail::parse_scaled(
      text, kUnits, static_cast<uint64_t>(std::numeric_limits<Duration::rep>::max()));
  if (!ms) return std::nullopt;
  return Duration{static_cast<Duration::rep>(*ms)};
}

std::string format_duration(Duration d) {
  const auto ms = d.count();
  if (ms == 0) return "0s";
  if (ms % (60 * 60 * 1000) == 0) return fmt::format("{}h", ms / (60 * 60 * 1000));
  if (ms % (60 * 1000) == 0) return fmt::format("{}m", ms / (60 * 1000));
  if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
  return fmt::format("{}ms", ms);
}

}  // namespace modsync::config
