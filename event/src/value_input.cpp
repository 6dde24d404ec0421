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

constexpr std::array<int8_t, 256> kBase64Value = [] {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int8_t>(i);
  return t;
}();

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
  if (value.size() % 4 != 0) return false;
  std::size_t padding = 0;
  if (!value.empty() && value.back() == '=') padding = value[value.size() - 2] == '=' ? 2 : 1;
  const std::string_view data = value.substr(0, value.size() - padding);
  const std::size_t rollback = out.size();
  out.append("\\x");
  // Only the low bits matter: each byte is taken as soon as eight are in.
  uint32_t bits = 0;
  int nbits = 0;
  for (const char c : data) {
    const int v = kBase64Value[static_cast<unsigned char>(c)];
    if (v < 0) {
      out.resize(rollback);
      return false;
    }
    bits = (bits << 6) | static_cast<uint32_t>(v);
    nbits += 6;
    if (nbits >= 8) {
      nbits -= 8;
      const unsigned byte = (bits >> nbits) & 0xFF;
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xF]);
    }
  }
  return true;
}

}  // namespace modsync::event
