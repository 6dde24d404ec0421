#include "modsync/common/time.hpp"

#include <charconv>

namespace modsync {

namespace {

char* put_2digits(unsigned value, char* w) {
  w[0] = static_cast<char>('0' + value / 10);
  w[1] = static_cast<char>('0' + value % 10);
  return w + 2;
}

}  // namespace

void append_rfc3339_ms(int64_t unix_ms, std::string& out) {
  int64_t days = unix_ms / 86'400'000;
  int64_t ms_of_day = unix_ms % 86'400'000;
  if (ms_of_day < 0) {
    ms_of_day += 86'400'000;
    --days;
  }
  // Howard Hinnant's civil_from_days: exact for the proleptic Gregorian calendar.
  const int64_t z = days + 719'468;
  const int64_t era = (z >= 0 ? z : z - 146'096) / 146'097;
  const int64_t doe = z - era * 146'097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36'524 - doe / 146'096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const auto day = static_cast<unsigned>(doy - (153 * mp + 2) / 5 + 1);
  const auto month = static_cast<unsigned>(mp < 10 ? mp + 3 : mp - 9);
  int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);

  char buf[48];
  char* w = buf;
  if (year < 0) {
    *w++ = '-';
    year = -year;
  }
  char digits[24];
  const auto r = std::to_chars(digits, digits + sizeof digits, year);
  for (std::ptrdiff_t pad = 4 - (r.ptr - digits); pad > 0; --pad) *w++ = '0';
  for (const char* d = digits; d != r.ptr; ++d) *w++ = *d;
  *w++ = '-';
  w = put_2digits(month, w);
  *w++ = '-';
  w = put_2digits(day, w);
  *w++ = 'T';
  const auto secs = static_cast<unsigned>(ms_of_day / 1000);
  w = put_2digits(secs / 3600, w);
  *w++ = ':';
  w = put_2digits(secs / 60 % 60, w);
  *w++ = ':';
  w = put_2digits(secs % 60, w);
  *w++ = '.';
  const auto millis = static_cast<unsigned>(ms_of_day % 1000);
  *w++ = static_cast<char>('0' + millis / 100);
  w = put_2digits(millis % 100, w);
  *w++ = 'Z';
  out.append(buf, w);
}

std::string format_rfc3339_ms(int64_t unix_ms) {
  std::string out;
  append_rfc3339_ms(unix_ms, out);
  return out;
}

}  // namespace modsync
