// append_pg_datetime_input and append_bytea_hex_input: modsync's JSON value forms back into
// text PostgreSQL's input functions accept (docs/events.md, "Reading values back"). The
// inverse of the encodings in type_mapping.cpp that PostgreSQL does not read as they are.

#include <array>
#include <charconv>

#include "json_append.hpp"
#include "modsync/event/envelope.hpp"

namespace modsync::event {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

}  // namespace

bool append_pg_datetime_input(std::string_view value, std::string& out) {
  // The year: "-" and four or more digits, or "0000"; then "-MM-DD" and an optional time.
  const bool negative = !value.empty() && value[0] == '-';
  const std::size_t digits_at = negative ? 1 : 0;
  std::size_t end = digits_at;
  while (end < value.size() && is_digit(value[end])) ++end;
  if (end - digits_at < 4 || end + 6 > value.size() || value[end] != '-') return false;
  uint64_t year = 0;
  const auto parsed = std::from_chars(value.data() + digits_at, value.data() + end, year);
  if (parsed.ec != std::errc() || (!negative && year != 0) || (negative && year == 0)) return false;
  // Astronomical year 0 is 1 BC, -1 is 2 BC.
  const uint64_t bc_year = year + 1;
  const std::size_t before = out.size();
  detail::append_decimal(bc_year, out);
  const std::size_t written = out.size() - before;
  if (written < 4) out.insert(before, 4 - written, '0');
  for (std::size_t i = end; i < value.size(); ++i) out.push_back(value[i] == 'T' ? ' ' : value[i]);
  out.append(" BC");
  return true;
}

bool append_bytea_hex_input(std::string_view value, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  thread_local std::string bytes;
  bytes.clear();
  if (!detail::decode_base64(value, bytes)) return false;
  out.append("\\x");
  for (const char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    out.push_back(kHex[byte >> 4]);
    out.push_back(kHex[byte & 0xF]);
  }
  return true;
}

}  // namespace modsync::event
