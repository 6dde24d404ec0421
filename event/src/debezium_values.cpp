// Debezium value mode: PostgreSQL text output → Debezium's JSON forms (adaptive time
// precision, precise decimals), and the way back into PostgreSQL input text.

#include <algorithm>
#include <charconv>
#include <vector>

#include "civil_days.hpp"
#include "json_append.hpp"
#include "modsync/event/debezium.hpp"
#include "modsync/event/envelope.hpp"
#include "modsync/event/pg_types.hpp"

namespace modsync::event::debezium {
namespace {

constexpr int64_t kMicrosPerSecond = 1'000'000;
constexpr int64_t kSecondsPerDay = 86'400;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

using detail::civil_from_days;
using detail::days_from_civil;

bool parse_uint(std::string_view s, int64_t& v) {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_digit(c)) return false;
  return std::from_chars(s.data(), s.data() + s.size(), v).ec == std::errc();
}

// "YYYY-MM-DD" (four or more year digits) in PostgreSQL's era numbering → epoch days.
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

// "HH:MM:SS[.ffffff]" → microseconds past midnight.
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

// "YYYY-MM-DD HH:MM:SS[.ffffff][ BC]" → epoch microseconds.
bool parse_timestamp(std::string_view text, int64_t& micros) {
  const bool bc = detail::strip_bc(text);
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
  detail::append_decimal(v, out);
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

// Writes the civil date of `days`; returns whether it is BC (the caller appends " BC" last).
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

// Decimal digits (most significant first) → minimal big-endian two's complement, as Java's
// BigInteger.toByteArray, which Kafka Connect's Decimal uses. Nine digits at a time into 32-bit
// limbs: numeric holds up to 131072 digits, and a digit at a time took seconds for those.
void append_twos_complement_base64(std::string_view digits, bool negative, std::string& out) {
  std::vector<uint32_t> limbs;  // magnitude, little-endian base 2^32
  for (std::size_t at = 0; at < digits.size();) {
    const std::size_t n = std::min<std::size_t>(9, digits.size() - at);
    uint64_t carry = 0, scale = 1;
    for (std::size_t i = 0; i < n; ++i, scale *= 10)
      carry = carry * 10 + static_cast<uint64_t>(digits[at + i] - '0');
    at += n;
    for (auto& limb : limbs) {
      const uint64_t v = limb * scale + carry;
      limb = static_cast<uint32_t>(v);
      carry = v >> 32;
    }
    if (carry) limbs.push_back(static_cast<uint32_t>(carry));
  }
  std::vector<uint8_t> le;  // magnitude, little-endian base 256, no high zero bytes
  le.reserve(limbs.size() * 4 + 1);
  for (const uint32_t limb : limbs)
    for (int b = 0; b < 4; ++b) le.push_back(static_cast<uint8_t>(limb >> (8 * b)));
  while (!le.empty() && le.back() == 0) le.pop_back();
  if (le.empty()) negative = false;
  if (negative) {
    unsigned carry = 1;
    for (auto& b : le) {
      const unsigned v = static_cast<uint8_t>(~b) + carry;
      b = static_cast<uint8_t>(v & 0xFF);
      carry = v >> 8;
    }
    if (!(le.back() & 0x80)) le.push_back(0xFF);
  } else if (le.empty() || (le.back() & 0x80)) {
    le.push_back(0);
  }
  std::string bytes(le.rbegin(), le.rend());
  out.push_back('"');
  detail::append_base64(bytes, out);
  out.push_back('"');
}

// numeric text ("-12.50") → sign, unscaled digits and scale; false for NaN and infinities.
bool split_numeric(std::string_view text, bool& negative, std::string& digits, int32_t& scale) {
  negative = !text.empty() && text[0] == '-';
  if (negative) text.remove_prefix(1);
  const auto dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  const std::string_view frac = dot == std::string_view::npos ? "" : text.substr(dot + 1);
  if (whole.empty() || (dot != std::string_view::npos && frac.empty())) return false;
  for (char c : whole)
    if (!is_digit(c)) return false;
  for (char c : frac)
    if (!is_digit(c)) return false;
  digits.assign(whole);
  digits.append(frac);
  const auto nonzero = digits.find_first_not_of('0');
  digits.erase(0, nonzero == std::string::npos ? digits.size() : nonzero);
  scale = static_cast<int32_t>(frac.size());
  return true;
}

}  // namespace

bool numeric_precision_scale(int32_t type_modifier, int32_t& precision, int32_t& scale) {
  constexpr int32_t kVarHdrSz = 4;
  if (type_modifier < kVarHdrSz) return false;
  const int32_t t = type_modifier - kVarHdrSz;
  precision = (t >> 16) & 0xFFFF;
  // PostgreSQL 15 allows a negative scale: an 11-bit two's-complement field.
  scale = (((t & 0x7FF) ^ 1024) - 1024);
  return true;
}

Form form_of(const Column& column) {
  const int32_t mod = column.type_modifier;
  switch (column.type_oid) {
    case pg::kDateOid:
      return Form::kDate;
    case pg::kTimeOid:
      return mod >= 0 && mod <= 3 ? Form::kTimeMillis : Form::kTimeMicros;
    case pg::kTimestampOid:
      return mod >= 0 && mod <= 3 ? Form::kTimestampMillis : Form::kTimestampMicros;
    case pg::kNumericOid: {
      int32_t precision = 0, scale = 0;
      return numeric_precision_scale(mod, precision, scale) ? Form::kDecimal
                                                            : Form::kVariableScaleDecimal;
    }
    default:
      return Form::kAsModsync;
  }
}

Form form_of_schema_name(std::string_view name) {
  if (name == kDate) return Form::kDate;
  if (name == kTime) return Form::kTimeMillis;
  if (name == kMicroTime) return Form::kTimeMicros;
  if (name == kTimestamp) return Form::kTimestampMillis;
  if (name == kMicroTimestamp) return Form::kTimestampMicros;
  if (name == kDecimal) return Form::kDecimal;
  if (name == kVariableScaleDecimal) return Form::kVariableScaleDecimal;
  return Form::kAsModsync;
}

void append_debezium_value(const Column& column, std::string_view text, std::string& out) {
  const Form form = form_of(column);
  int64_t v = 0;
  switch (form) {
    case Form::kAsModsync:
      break;
    case Form::kDate: {
      std::string_view t = text;
      const bool bc = detail::strip_bc(t);
      if (!parse_date(t, bc, v)) break;
      detail::append_decimal(v, out);
      return;
    }
    case Form::kTimeMillis:
    case Form::kTimeMicros:
      if (!parse_clock(text, v)) break;
      detail::append_decimal(form == Form::kTimeMillis ? v / 1000 : v, out);
      return;
    case Form::kTimestampMillis:
    case Form::kTimestampMicros:
      if (!parse_timestamp(text, v)) break;
      detail::append_decimal(form == Form::kTimestampMillis ? floor_div(v, 1000) : v, out);
      return;
    case Form::kDecimal:
    case Form::kVariableScaleDecimal: {
      thread_local std::string digits;
      bool negative = false;
      int32_t scale = 0;
      if (!split_numeric(text, negative, digits, scale)) break;
      if (form == Form::kVariableScaleDecimal) {
        out.append("{\"scale\":");
        detail::append_decimal(scale, out);
        out.append(",\"value\":");
        append_twos_complement_base64(digits, negative, out);
        out.push_back('}');
        return;
      }
      int32_t precision = 0, declared = 0;
      numeric_precision_scale(column.type_modifier, precision, declared);
      // More fraction digits than the column's scale is not the column's own output.
      if (scale > std::max(declared, 0)) break;
      if (declared > scale && !digits.empty())
        digits.append(static_cast<std::size_t>(declared - scale), '0');
      // A negative scale: PostgreSQL printed the rounded integer; its last digits are zeros.
      for (int32_t s = declared; s < 0 && !digits.empty(); ++s) {
        if (digits.back() != '0') {
          digits.clear();
          negative = false;
          break;
        }
        digits.pop_back();
      }
      append_twos_complement_base64(digits, negative, out);
      return;
    }
  }
  append_json_value(column.type_oid, text, out);
}

bool append_date_input(int64_t epoch_days, std::string& out) {
  // PostgreSQL's date range, 4714-11-24 BC to 5874897-12-31.
  if (epoch_days < -2'440'588 || epoch_days > 2'145'042'905) return false;
  if (append_civil_date(epoch_days, out)) out.append(" BC");
  return true;
}

bool append_timestamp_input(int64_t epoch, int64_t units_per_second, std::string& out) {
  if (units_per_second != 1000 && units_per_second != kMicrosPerSecond) return false;
  const int64_t per_day = kSecondsPerDay * units_per_second;
  const int64_t days = floor_div(epoch, per_day);
  const int64_t clock = (epoch - days * per_day) * (kMicrosPerSecond / units_per_second);
  // timestamp's range, 4714-11-24 BC to 294276-12-31.
  if (days < -2'440'588 || days > 106'762'939) return false;
  const bool bc = append_civil_date(days, out);
  out.push_back(' ');
  append_clock(clock, out);
  if (bc) out.append(" BC");
  return true;
}

bool append_time_input(int64_t value, int64_t units_per_second, std::string& out) {
  if (units_per_second != 1000 && units_per_second != kMicrosPerSecond) return false;
  const int64_t micros = value * (kMicrosPerSecond / units_per_second);
  if (value < 0 || micros > kSecondsPerDay * kMicrosPerSecond) return false;
  append_clock(micros, out);
  return true;
}

bool append_decimal_input(std::string_view base64, int32_t scale, std::string& out) {
  thread_local std::string bytes;
  bytes.clear();
  if (!detail::decode_base64(base64, bytes) || bytes.empty()) return false;
  const bool negative = static_cast<uint8_t>(bytes[0]) & 0x80;
  if (negative) {  // magnitude = two's complement of the bytes
    unsigned carry = 1;
    for (auto it = bytes.rbegin(); it != bytes.rend(); ++it) {
      const unsigned v = static_cast<uint8_t>(~static_cast<uint8_t>(*it)) + carry;
      *it = static_cast<char>(v & 0xFF);
      carry = v >> 8;
    }
  }
  // The magnitude in 32-bit limbs, then nine decimal digits per division by 10^9.
  std::vector<uint32_t> limbs((bytes.size() + 3) / 4, 0);  // little-endian
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const std::size_t from_end = bytes.size() - 1 - i;
    limbs[from_end / 4] |= uint32_t{static_cast<uint8_t>(bytes[i])} << (8 * (from_end % 4));
  }
  while (!limbs.empty() && limbs.back() == 0) limbs.pop_back();
  std::vector<uint8_t> le10;  // decimal digits, least significant first
  while (!limbs.empty()) {
    uint64_t rem = 0;
    for (std::size_t i = limbs.size(); i-- > 0;) {
      const uint64_t cur = (rem << 32) | limbs[i];
      limbs[i] = static_cast<uint32_t>(cur / 1'000'000'000);
      rem = cur % 1'000'000'000;
    }
    while (!limbs.empty() && limbs.back() == 0) limbs.pop_back();
    for (int d = 0; d < 9 && (rem != 0 || !limbs.empty()); ++d, rem /= 10)
      le10.push_back(static_cast<uint8_t>(rem % 10));
  }
  if (le10.empty()) le10.push_back(0);
  if (scale > 0 && le10.size() <= static_cast<std::size_t>(scale))
    le10.resize(static_cast<std::size_t>(scale) + 1, 0);
  const bool zero = le10.size() == 1 && le10[0] == 0;
  if (negative && !zero) out.push_back('-');
  for (std::size_t i = le10.size(); i-- > 0;) {
    out.push_back(static_cast<char>('0' + le10[i]));
    if (scale > 0 && i == static_cast<std::size_t>(scale)) out.push_back('.');
  }
  for (int32_t s = scale; s < 0; ++s) out.push_back('0');
  return true;
}

}  // namespace modsync::event::debezium
