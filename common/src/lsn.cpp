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

namespace {

// Uppercase hex without leading zeros, as PostgreSQL prints each half of an LSN (%X).
char* put_hex_upper(uint32_t value, char* out, char* end) {
  const auto r = std::to_chars(out, end, value, 16);
  for (char* c = out; c != r.ptr; ++c)
    if (*c >= 'a') *c = static_cast<char>(*c - 'a' + 'A');
  return r.ptr;
}

}  // namespace

std::string Lsn::to_string() const {
  // By hand rather than fmt::format: the encoder prints one per event (source.position), and
  // fmt's format-string machinery cost ~750 instructions a call (callgrind).
  char buf[17];
  char* w = put_hex_upper(static_cast<uint32_t>(value_ >> 32), buf, buf + 8);
  *w++ = '/';
  w = put_hex_upper(static_cast<uint32_t>(value_), w, buf + sizeof buf);
  return std::string(buf, w);
}

std::string Position::to_string() const { return fmt::format("{}#{}", commit_lsn, index); }

}  // namespace modsync
