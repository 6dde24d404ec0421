#include "modsync/config/byte_size.hpp"

#include <array>

#include <fmt/format.h>

#include "scaled_number.hpp"

namespace modsync::config {

std::optional<uint64_t> parse_byte_size(std::string_view text) {
  static constexpr std::array<detail::Unit, 5> kUnits = {
      {{"", 1}, {"B", 1}, {"KiB", kKiB}, {"MiB", kMiB}, {"GiB", kGiB}}};
  return detail::parse_scaled(text, kUnits, uint64_t{1} << 63);
}

std::string format_byte_size(uint64_t bytes) {
  if (bytes == 0) return "0B";
  if (bytes % kGiB == 0) return fmt::format("{}GiB", bytes / kGiB);
  if (bytes % kMiB == 0) return fmt::format("{}MiB", bytes / kMiB);
  if (bytes % kKiB == 0) return fmt::format("{}KiB", bytes / kKiB);
  return fmt::format("{}B", bytes);
}

}  // namespace modsync::config
