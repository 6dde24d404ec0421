#include <locale.h>
#include <wctype.h>

#include <cstdio>
#include <string>
#include <string_view>

#include "json_append.hpp"
#include "modsync/event/envelope.hpp"
#include "modsync/event/pg_types.hpp"
#include "pg_time_text.hpp"

namespace modsync::event {
namespace {

bool is_citext(std::string_view type_name) {
  constexpr std::string_view kName = "citext";
  return type_name == kName || (type_name.size() > kName.size() && type_name.ends_with(kName) &&
                                type_name[type_name.size() - kName.size() - 1] == '.');
}

/// C.UTF-8's case mapping (glibc's, all of Unicode); nullptr if the locale is missing.
locale_t utf8_ctype() {
  static const locale_t loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", nullptr);
  return loc;
}

void append_utf8(char32_t c, std::string& out) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

/// Lower case, code point by code point. citext compares lower() in the database's collation,
/// which folds at most what Unicode folds (only ASCII under the C locale): folding more puts
/// keys that differ on one partition, which costs nothing, while folding less would split
/// equal keys. Bytes that are not UTF-8 are kept as they are.
void append_lower(std::string_view text, std::string& out) {
  const locale_t loc = utf8_ctype();
  for (size_t i = 0; i < text.size();) {
    const auto b = static_cast<unsigned char>(text[i]);
    if (b < 0x80) {
      out.push_back(b >= 'A' && b <= 'Z' ? static_cast<char>(b + ('a' - 'A')) : text[i]);
      ++i;
      continue;
    }
    const size_t n = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
    char32_t c = n == 4 ? b & 0x07 : n == 3 ? b & 0x0F : b & 0x1F;
    bool valid = n > 1 && i + n <= text.size();
    for (size_t k = 1; valid && k < n; ++k) {
      const auto cont = static_cast<unsigned char>(text[i + k]);
      valid = (cont & 0xC0) == 0x80;
      c = (c << 6) | (cont & 0x3F);
    }
    if (!valid || loc == nullptr) {
      out.append(text.substr(i, valid ? n : 1));
      i += valid ? n : 1;
      continue;
    }
    append_utf8(static_cast<char32_t>(towlower_l(static_cast<wint_t>(c), loc)), out);
    i += n;
  }
}

/// Reads `n` or more digits (at most 9) at `at`; false if fewer than `n`.
bool read_digits(std::string_view s, size_t& at, size_t n, int64_t& out) {
  const size_t from = at;
  out = 0;
  while (at < s.size() && at - from < 9 && detail::is_digit(s[at]))
    out = out * 10 + (s[at++] - '0');
  return at - from >= n;
}

bool expect(std::string_view s, size_t& at, char c) {
  if (at >= s.size() || s[at] != c) return false;
  ++at;
  return true;
}

/// A timestamptz in PostgreSQL's ISO output ("2026-03-08 12:34:56.789+05:30", " BC" after
/// years before 1) as the same instant in UTC; false (nothing written) for any other text.
/// The text carries the capture session's zone, which a change of the server's TimeZone moves.
bool append_utc_timestamptz(std::string_view text, std::string& out) {
  std::string_view v = text;
  const bool bc = detail::strip_bc(v);
  // The offset comes last, [+-]HH[:MM[:SS]]; the date's dashes are before it.
  const size_t sign_at = v.find_last_of("+-");
  if (sign_at == std::string_view::npos) return false;
  size_t at = sign_at + 1;
  int64_t oh = 0, om = 0, os = 0;
  if (!read_digits(v, at, 2, oh)) return false;
  if (at < v.size() && (!expect(v, at, ':') || !read_digits(v, at, 2, om))) return false;
  if (at < v.size() && (!expect(v, at, ':') || !read_digits(v, at, 2, os))) return false;
  int64_t micros = 0;
  if (at != v.size() || !detail::parse_timestamp(v.substr(0, sign_at), bc, micros)) return false;
  const int64_t offset = (v[sign_at] == '-' ? -1 : 1) * (oh * 3600 + om * 60 + os);
  if (__builtin_sub_overflow(micros, offset * detail::kMicrosPerSecond, &micros)) return false;
  const int64_t per_day = detail::kSecondsPerDay * detail::kMicrosPerSecond;
  const int64_t days = detail::floor_div(micros, per_day);
  const bool out_bc = detail::append_civil_date(days, out);
  out.push_back(' ');
  detail::append_clock(micros - days * per_day, out);
  out.append(out_bc ? "+00 BC" : "+00");
  return true;
}

/// Wide enough for an interval's span in microseconds (178 million years of 30-day months).
__extension__ typedef __int128 Int128;

/// An interval in PostgreSQL's postgres output style ("1 year 2 mons -3 days +04:05:06.789")
/// as its span in one form: PostgreSQL compares intervals by months as 30 days and days as
/// 24 hours, so '1 mon', '30 days' and '720:00:00' are equal; written "D days HH:MM:SS.ffffff"
/// with the sign on the days. False (nothing written) for any other text.
bool append_interval_span(std::string_view text, std::string& out) {
  constexpr Int128 kDay = static_cast<Int128>(detail::kSecondsPerDay) * detail::kMicrosPerSecond;
  Int128 micros = 0;
  size_t at = 0;
  const auto skip_blank = [&] {
    while (at < text.size() && text[at] == ' ') ++at;
  };
  skip_blank();
  while (at < text.size()) {
    bool negative = false;
    if (text[at] == '-' || text[at] == '+') negative = text[at++] == '-';
    int64_t n = 0;
    const size_t from = at;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9' && at - from < 18)
      n = n * 10 + (text[at++] - '0');
    if (at == from) return false;
    const Int128 sign = negative ? -1 : 1;
    if (at < text.size() && text[at] == ':') {  // the time part: H+:MM:SS[.ffffff], last
      int64_t minutes = 0, seconds = 0, fraction = 0;
      ++at;
      if (!read_digits(text, at, 2, minutes) || !expect(text, at, ':') ||
          !read_digits(text, at, 2, seconds))
        return false;
      if (at < text.size() && text[at] == '.') {
        ++at;
        size_t digits = 0;
        while (at < text.size() && text[at] >= '0' && text[at] <= '9' && digits < 6) {
          fraction = fraction * 10 + (text[at++] - '0');
          ++digits;
        }
        if (digits == 0) return false;
        for (; digits < 6; ++digits) fraction *= 10;
      }
      if (at != text.size()) return false;
      micros +=
          sign * ((static_cast<Int128>(n) * 3600 + minutes * 60 + seconds) * 1000000 + fraction);
      break;
    }
    skip_blank();
    const size_t unit_at = at;
    while (at < text.size() && text[at] >= 'a' && text[at] <= 'z') ++at;
    const std::string_view unit = text.substr(unit_at, at - unit_at);
    if (unit == "year" || unit == "years") {
      micros += sign * n * 12 * 30 * kDay;
    } else if (unit == "mon" || unit == "mons") {
      micros += sign * n * 30 * kDay;
    } else if (unit == "day" || unit == "days") {
      micros += sign * n * kDay;
    } else {
      return false;
    }
    skip_blank();
  }
  Int128 days = micros / kDay;
  Int128 rest = micros % kDay;
  if (rest < 0) {
    rest += kDay;
    --days;
  }
  const auto whole = static_cast<int64_t>(rest / 1000000);
  char buf[80];
  const int n = std::snprintf(
      buf, sizeof buf, "%lld days %02lld:%02lld:%02lld.%06lld", static_cast<long long>(days),
      static_cast<long long>(whole / 3600), static_cast<long long>(whole / 60 % 60),
      static_cast<long long>(whole % 60), static_cast<long long>(rest % 1000000));
  out.append(buf, static_cast<size_t>(n));
  return true;
}

}  // namespace

std::string_view canonical_key_text(const Column& column, std::string_view text,
                                    std::string& scratch) {
  if (column.type_oid == pg::kNumericOid || column.type_oid == pg::kFloat4Oid ||
      column.type_oid == pg::kFloat8Oid) {
    // A numeric with a declared scale always shows that scale; an unconstrained one shows the
    // scale it was given (5.0, 5.00), and floats show -0 beside 0.
    if (column.type_oid == pg::kNumericOid && column.type_modifier != -1) return text;
    std::string_view v = text;
    if (column.type_oid == pg::kNumericOid && v.find('.') != std::string_view::npos) {
      while (v.ends_with('0')) v.remove_suffix(1);
      if (v.ends_with('.')) v.remove_suffix(1);
    }
    if (v == "-0") v = "0";
    return v;
  }
  if (column.type_oid == pg::kBpcharOid && column.type_modifier == -1) {
    // A character(n) is padded to n; a bpchar without a length keeps the blanks it was given,
    // which its equality ignores.
    while (text.ends_with(' ')) text.remove_suffix(1);
    return text;
  }
  if (column.type_oid == pg::kIntervalOid) {
    scratch.clear();
    return append_interval_span(text, scratch) ? std::string_view(scratch) : text;
  }
  if (column.type_oid == pg::kTimestampTzOid) {
    scratch.clear();
    return append_utc_timestamptz(text, scratch) ? std::string_view(scratch) : text;
  }
  if (is_citext(column.type_name)) {
    scratch.clear();
    append_lower(text, scratch);
    return scratch;
  }
  return text;
}

}  // namespace modsync::event
