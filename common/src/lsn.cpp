#include "modsync/common/lsn.hpp"

#include <charconv>

namespace modsync {

std::optional<Lsn> Lsn::parse(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == text.size()) return std::nullopt;
  uint32_t hi = 0, lo = 0;
  const char* hi_end = text.data() + slash;
  auto r1 = std::from_chars(text.data(), hi_end, hi, 16);
  if (r1.ec != std::errc{} || r1.ptr != hi_end) return std::nullopt;
  const char* end = text.data() + text.size();
  auto r2 = std::from_chars(hi_end + 1, end, lo, 16);
  if (r2.ec != std::errc{} || r2.ptr != end) return std::nullopt;
  return Lsn{(uint64_t{hi} << 32) | lo};
}

std::string Lsn::to_string() const {
  return fmt::format("{:X}/{:X}", static_cast<uint32_t>(value_ >> 32),
                     static_cast<uint32_t>(value_));
}

std::string Position::to_string() const { return fmt::format("{}#{}", commit_lsn, index); }

}  // namespace modsync
