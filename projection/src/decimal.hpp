#pragma once
// Exact comparison of numbers written in decimal, without converting them to binary floating
// point: PostgreSQL numeric values and int8 values beyond 2^53 must compare exactly.

#include <compare>
#include <cstddef>
#include <string_view>

namespace modsync::projection {

/// A decimal number as views into its text: no leading zeros in `integer`, no trailing zeros in
/// `fraction`, so equal numbers have equal views. Zero is {false, "", ""} whatever its sign.
struct Decimal {
  bool negative = false;
  std::string_view integer;
  std::string_view fraction;
};

enum class NumberSyntax {
  kDecimal,   ///< [+-]digits[.digits]: compared exactly
  kExponent,  ///< with an exponent (1e+30): compared as double
  kInvalid,   ///< not a number (NaN, Infinity, 12abc, "")
};

/// Classifies `text` as [+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)?; for
/// kDecimal also fills `out` (views into `text`).
NumberSyntax parse_decimal(std::string_view text, Decimal& out);

std::strong_ordering compare_decimal(const Decimal& a, const Decimal& b);

/// Parses a number of syntax kExponent (or kDecimal) to the nearest double; magnitudes beyond
/// its range become ±infinity or ±0. False when `text` does not parse.
bool parse_double(std::string_view text, double& out);

/// Writes ±0.DIGITS×10^point as plain decimal text (no exponent): `digits` are significant
/// digits without leading zeros, `point` the number of them before the decimal point (may be
/// negative or exceed their count). Writes "0" for no digits. `put(char)` receives the text.
template <typename Put>
void write_plain_decimal(bool negative, std::string_view digits, long point, Put&& put) {
  while (!digits.empty() && digits.back() == '0') digits.remove_suffix(1);
  if (digits.empty()) {
    put('0');
    return;
  }
  if (negative) put('-');
  const long count = static_cast<long>(digits.size());
  if (point <= 0) {
    put('0');
    put('.');
    for (long i = point; i < 0; ++i) put('0');
    for (char d : digits) put(d);
    return;
  }
  for (long i = 0; i < point; ++i) put(i < count ? digits[i] : '0');
  if (point < count) {
    put('.');
    for (long i = point; i < count; ++i) put(digits[i]);
  }
}

/// Room for any finite double in plain decimal: 309 integer digits, or "0." and 323 zeros
/// before 17 significant digits, and a sign.
inline constexpr std::size_t kPlainDoubleSize = 400;

/// The shortest decimal that reads back as `value` (finite), in plain form, written into
/// `buffer`: 1e+30 → "1000000000000000000000000000000", 0.1 → "0.1". It is what PostgreSQL
/// prints for a float (extra_float_digits ≥ 1), so a float compares equal to the literal
/// written as it prints.
std::string_view shortest_plain_decimal(double value, char (&buffer)[kPlainDoubleSize]);

}  // namespace modsync::projection
