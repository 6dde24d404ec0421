#pragma once
// PostgreSQL's ISO date and time text (DateStyle ISO: "YYYY-MM-DD", "HH:MM:SS[.ffffff]", " BC"
// after years before 1) into epoch days and microseconds and back, with Howard Hinnant's
// days_from_civil / civil_from_days: the proleptic Gregorian calendar, astronomical years
// (year 0 is 1 BC), days counted from 1970-01-01.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace modsync::event::detail {

inline constexpr int64_t kMicrosPerSecond = 1'000'000;
inline constexpr int64_t kSecondsPerDay = 86'400;

inline bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

inline int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

inline void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
}

/// Decimal digits only, into `v`.
bool parse_uint(std::string_view s, int64_t& v);
/// "YYYY-MM-DD" (four or more year digits), BC when `bc` → epoch days.
bool parse_date(std::string_view text, bool bc, int64_t& days);
/// "HH:MM:SS[.ffffff]" → microseconds past midnight (24:00:00 included).
bool parse_clock(std::string_view t, int64_t& micros);
/// "YYYY-MM-DD HH:MM:SS[.ffffff]" (the era suffix already taken off: `bc`) → epoch
/// microseconds; false past 64 bits (after 294247-01-10).
bool parse_timestamp(std::string_view text, bool bc, int64_t& micros);
int64_t floor_div(int64_t a, int64_t b);
/// `v` in decimal, zero-padded to `width` digits.
void append_padded(int64_t v, std::size_t width, std::string& out);
/// Microseconds past midnight as "HH:MM:SS[.ffffff]", trailing fraction zeros dropped.
void append_clock(int64_t micros, std::string& out);
/// The civil date of `days` as "YYYY-MM-DD"; returns whether it is BC (the caller appends
/// " BC" last).
bool append_civil_date(int64_t days, std::string& out);

}  // namespace modsync::event::detail
