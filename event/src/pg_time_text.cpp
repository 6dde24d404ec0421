// PostgreSQL's ISO date and time text: parsed into epoch days and microseconds, and printed
// back (the Debezium time forms, the timestamptz key).

#include "pg_time_text.hpp"

#include <charconv>

#include "json_append.hpp"

namespace modsync::event::detail {

bool parse_uint(std::string_view s, int64_t& v) {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_digit(c)) return false;
  return std::from_chars(s.data(), s.data() + s.size(), v).ec == std::errc();
}

bool parse_date(std::string_view text, bool bc, int64_t& days) {
  const auto dash = text.find('-');
  if (dash == std::string_view::npos || dash < 4 || text.size() != dash + 6 ||
      text[dash + 3] != '-')
    return false;
  int64_t year = 0, month = 0, day = 0;
  if (!parse_uint(text.substr(0, dash), year) || !parse_uint(text.substr(dash + 1, 2), month) ||
      !parse_uint(text.substr(dash + 4, 2), day) || month < 1 || month > 12 || day < 1 ||
      day > 31 || (bc && year == 0))
    return false;
  days = days_from_civil(bc ? 1 - year : year, static_cast<unsigned>(month),
                         static_cast<unsigned>(day));
  return true;
}

bool parse_clock(std::string_view t, int64_t& micros) {
  if (t.size() < 8 || t[2] != ':' || t[5] != ':') return false;
  int64_t h = 0, m = 0, s = 0, frac = 0;
  if (!parse_uint(t.substr(0, 2), h) || !parse_uint(t.substr(3, 2), m) ||
      !parse_uint(t.substr(6, 2), s))
    return false;
  if (t.size() > 8) {
    const std::string_view f = t.substr(9);
    if (t[8] != '.' || f.size() > 6 || !parse_uint(f, frac)) return false;
    for (std::size_t i = f.size(); i < 6; ++i) frac *= 10;
  }
  micros = ((h * 60 + m) * 60 + s) * kMicrosPerSecond + frac;
  return micros <= kSecondsPerDay * kMicrosPerSecond;
}

bool parse_timestamp(std::string_view text, bool bc, int64_t& micros) {
  const auto space = text.find(' ');
  int64_t days = 0, clock = 0;
  if (space == std::string_view::npos || !parse_date(text.substr(0, space), bc, days) ||
      !parse_clock(text.substr(space + 1), clock))
    return false;
  // Epoch microseconds overflow 64 bits after 294247-01-10 (PostgreSQL counts from 2000 and
  // reaches 294276): such a value stays a string of its text.
  return !__builtin_mul_overflow(days, kSecondsPerDay * kMicrosPerSecond, &micros) &&
         !__builtin_add_overflow(micros, clock, &micros);
}

int64_t floor_div(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

void append_padded(int64_t v, std::size_t width, std::string& out) {
  const std::size_t before = out.size();
  append_decimal(v, out);
  const std::size_t n = out.size() - before;
  if (n < width) out.insert(before, width - n, '0');
}

void append_clock(int64_t micros, std::string& out) {
  const int64_t seconds = micros / kMicrosPerSecond, frac = micros % kMicrosPerSecond;
  append_padded(seconds / 3600, 2, out);
  out.push_back(':');
  append_padded(seconds / 60 % 60, 2, out);
  out.push_back(':');
  append_padded(seconds % 60, 2, out);
  if (frac != 0) {
    out.push_back('.');
    append_padded(frac, 6, out);
    while (out.back() == '0') out.pop_back();
  }
}

bool append_civil_date(int64_t days, std::string& out) {
  int64_t y = 0;
  unsigned m = 0, d = 0;
  civil_from_days(days, y, m, d);
  const bool bc = y <= 0;
  append_padded(bc ? 1 - y : y, 4, out);
  out.push_back('-');
  append_padded(m, 2, out);
  out.push_back('-');
  append_padded(d, 2, out);
  return bc;
}

}  // namespace modsync::event::detail
