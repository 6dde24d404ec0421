#include "scaled_number.hpp"

#include <charconv>

namespace modsync::config::detail {

std::optional<uint64_t> parse_scaled(std::string_view text, std::span<const Unit> units,
                                     uint64_t max) {
  uint64_t n = 0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(begin, end, n);
  if (ec != std::errc{} || ptr == begin) return std::nullopt;
  const std::string_view unit(ptr, static_cast<size_t>(end - ptr));
  for (const auto& [name, scale] : units) {
    if (unit != name) continue;
    if (n > max / scale) return std::nullopt;
    return n * scale;
  }
  return std::nullopt;
}

}  // namespace modsync::config::detail
