#include "decimal.hpp"

#include <charconv>
#include <limits>

namespace modsync::projection {

namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

std::size_t skip_digits(std::string_view text, std::size_t i) {
  while (i < text.size() && is_digit(text[i])) ++i;
  return i;
}

std::strong_ordering compare_magnitude(const Decimal& a, const Decimal& b) {
  // Without leading zeros, a longer integer part is a larger number.
  if (a.integer.size() != b.integer.size()) return a.integer.size() <=> b.integer.size();
  if (auto c = a.integer.compare(b.integer); c != 0) return c <=> 0;
  // Without trailing zeros, fractions compare as strings: "5" < "51", "05" < "5".
  return a.fraction.compare(b.fraction) <=> 0;
}

}  // namespace

NumberSyntax parse_decimal(std::string_view text, Decimal& out) {
  std::size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
  const std::size_t integer_begin = i;
  i = skip_digits(text, i);
  const std::size_t integer_end = i;
  std::size_t fraction_begin = i;
  std::size_t fraction_end = i;
  if (i < text.size() && text[i] == '.') {
    fraction_begin = ++i;
    i = skip_digits(text, i);
    fraction_end = i;
  }
  if (integer_begin == integer_end && fraction_begin == fraction_end) return NumberSyntax::kInvalid;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
    const std::size_t exponent_begin = i;
    i = skip_digits(text, i);
    if (i == exponent_begin || i != text.size()) return NumberSyntax::kInvalid;
    return NumberSyntax::kExponent;
  }
  if (i != text.size()) return NumberSyntax::kInvalid;

  std::string_view integer = text.substr(integer_begin, integer_end - integer_begin);
  std::string_view fraction = text.substr(fraction_begin, fraction_end - fraction_begin);
  while (!integer.empty() && integer.front() == '0') integer.remove_prefix(1);
  while (!fraction.empty() && fraction.back() == '0') fraction.remove_suffix(1);
  out.integer = integer;
  out.fraction = fraction;
  out.negative = negative && !(integer.empty() && fraction.empty());
  return NumberSyntax::kDecimal;
}

std::strong_ordering compare_decimal(const Decimal& a, const Decimal& b) {
  if (a.negative != b.negative) {
    return a.negative ? std::strong_ordering::less : std::strong_ordering::greater;
  }
  const auto magnitude = compare_magnitude(a, b);
  return a.negative ? 0 <=> magnitude : magnitude;
}

bool parse_double(std::string_view text, double& out) {
  // from_chars rejects a leading '+', which our number syntax allows.
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, out);
  if (ec == std::errc::result_out_of_range && ptr == end) {
    // Beyond the double range: the exponent's sign says which way (1e999, 1e-999).
    const bool negative = text.front() == '-';
    const auto e = text.find_first_of("eE");
    const bool tiny = e != std::string_view::npos && e + 1 < text.size() && text[e + 1] == '-';
    const double magnitude = tiny ? 0.0 : std::numeric_limits<double>::infinity();
    out = negative ? -magnitude : magnitude;
    return true;
  }
  return ec == std::errc() && ptr == end;
}

std::string_view shortest_plain_decimal(double value, char (&buffer)[kPlainDoubleSize]) {
  // Scientific form gives the shortest round-trip digits; fixed form would print a large
  // double's exact binary value (1e30 → 1000000000000000019884624838656) instead.
  char scientific[32];
  const auto result = std::to_chars(scientific, scientific + sizeof scientific, value,
                                    std::chars_format::scientific);
  std::string_view text(scientific, result.ptr - scientific);
  const bool negative = text.front() == '-';
  if (negative) text.remove_prefix(1);
  const auto e = text.find('e');
  char digits[24];
  std::size_t count = 0;
  for (char c : text.substr(0, e)) {
    if (c != '.') digits[count++] = c;
  }
  int exponent = 0;
  std::string_view exponent_text = text.substr(e + 1);
  if (exponent_text.front() == '+') exponent_text.remove_prefix(1);
  std::from_chars(exponent_text.data(), exponent_text.data() + exponent_text.size(), exponent);
  std::size_t size = 0;
  write_plain_decimal(negative, std::string_view(digits, count), exponent + 1L,
                      [&](char c) { buffer[size++] = c; });
  return std::string_view(buffer, size);
}

}  // namespace modsync::projection
