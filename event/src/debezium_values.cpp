// Debezium value mode: PostgreSQL text output → Debezium's JSON forms (adaptive time
// precision, precise decimals), and the way back into PostgreSQL input text.

#include <algorithm>
#include <charconv>
#include <vector>

#include "json_append.hpp"
#include "modsync/event/debezium.hpp"
#include "modsync/event/envelope.hpp"
#include "modsync/event/pg_types.hpp"
#include "pg_time_text.hpp"

namespace modsync::event::debezium {
namespace {

using detail::append_civil_date;
using detail::append_clock;
using detail::floor_div;
using detail::is_digit;
using detail::kMicrosPerSecond;
using detail::kSecondsPerDay;
using detail::parse_clock;
using detail::parse_date;

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
    case Form::kTimestampMicros: {
      std::string_view t = text;
      const bool bc = detail::strip_bc(t);
      if (!detail::parse_timestamp(t, bc, v)) break;
      detail::append_decimal(form == Form::kTimestampMillis ? floor_div(v, 1000) : v, out);
      return;
    }
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
