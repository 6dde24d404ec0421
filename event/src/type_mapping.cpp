// append_json_value: PostgreSQL text output → JSON (docs/events.md,
// "Type mapping"). Everything here appends into the caller's buffer; a value whose text is
// not in the shape its type promises is written as a JSON string of that text, so the output
// stays valid JSON and nothing is lost.

#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "json_append.hpp"
#include "modsync/event/envelope.hpp"
#include "modsync/event/pg_types.hpp"

namespace modsync::event {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_digit(c)) return false;
  return true;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// Scratch buffers reused across calls on one thread, so decoding escaped input does not
// allocate once warm. Separate ones because an array element being decoded may itself be a
// bytea in escape form.
std::string& array_scratch() {
  thread_local std::string s;
  return s;
}
std::string& bytea_scratch() {
  thread_local std::string s;
  return s;
}

void append_number_or_string(std::string_view text, std::string& out) {
  if (detail::is_json_number(text)) {
    out.append(text);
  } else {
    append_json_string(text, out);
  }
}

/// Whether a float's text (already a JSON number) is within a double's range: PostgreSQL never
/// prints one beyond it, but a number readers cannot hold (simdjson refuses the document) must
/// not reach Kafka as a number. Decimal magnitude = integer digits - 1 + exponent.
bool fits_double(std::string_view text) {
  size_t at = text.empty() || text[0] != '-' ? 0 : 1;
  int digits = 0;
  while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
    if (digits > 0 || text[at] != '0') ++digits;
    ++at;
  }
  const size_t e = text.find_first_of("eE", at);
  long exponent = 0;
  if (e != std::string_view::npos) {
    size_t i = e + 1;
    const bool negative = i < text.size() && text[i] == '-';
    if (i < text.size() && (text[i] == '-' || text[i] == '+')) ++i;
    for (; i < text.size() && exponent < 100000; ++i) exponent = exponent * 10 + (text[i] - '0');
    if (negative) exponent = -exponent;
  }
  const long magnitude = digits - 1 + exponent;
  if (magnitude != 308) return magnitude < 308;
  // At the edge the digits decide (1.7976931348623157e308 is the largest): read it.
  const std::string copy(text);
  return std::isfinite(std::strtod(copy.c_str(), nullptr));
}

// bytea in hex output form: \x followed by two hex digits per byte.
bool append_bytea_hex(std::string_view text, std::string& out) {
  const std::string_view hex = text.substr(2);
  if (hex.size() % 2 != 0) return false;
  // Decode in stack-sized chunks: a multiple of 3 bytes, so only the last chunk pads.
  constexpr std::size_t kChunk = 3 * 256;
  char bytes[kChunk];
  out.push_back('"');
  const std::size_t rollback = out.size() - 1;
  for (std::size_t at = 0; at < hex.size();) {
    std::size_t n = 0;
    for (; n < kChunk && at < hex.size(); ++n, at += 2) {
      const int hi = hex_value(hex[at]), lo = hex_value(hex[at + 1]);
      if (hi < 0 || lo < 0) {
        out.resize(rollback);
        return false;
      }
      bytes[n] = static_cast<char>((hi << 4) | lo);
    }
    detail::append_base64({bytes, n}, out);
  }
  out.push_back('"');
  return true;
}

// bytea in escape output form (bytea_output = 'escape'): \\ for a backslash, \ooo octal for
// a non-printable byte, anything else literally.
bool append_bytea_escape(std::string_view text, std::string& out) {
  std::string& bytes = bytea_scratch();
  bytes.clear();
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      bytes.push_back(text[i]);
    } else if (i + 1 < text.size() && text[i + 1] == '\\') {
      bytes.push_back('\\');
      ++i;
    } else if (i + 3 < text.size() && text[i + 1] >= '0' && text[i + 1] <= '3' &&
               text[i + 2] >= '0' && text[i + 2] <= '7' && text[i + 3] >= '0' &&
               text[i + 3] <= '7') {
      bytes.push_back(static_cast<char>(((text[i + 1] - '0') << 6) | ((text[i + 2] - '0') << 3) |
                                        (text[i + 3] - '0')));
      i += 3;
    } else {
      return false;
    }
  }
  out.push_back('"');
  detail::append_base64(bytes, out);
  out.push_back('"');
  return true;
}

void append_bytea(std::string_view text, std::string& out) {
  const bool ok = text.size() >= 2 && text[0] == '\\' && text[1] == 'x'
                      ? append_bytea_hex(text, out)
                      : append_bytea_escape(text, out);
  if (!ok) append_json_string(text, out);
}

// A UTC offset as PostgreSQL prints it: ±HH, ±HH:MM or ±HH:MM:SS.
bool valid_offset(std::string_view z) {
  if (z.size() != 3 && z.size() != 6 && z.size() != 9) return false;
  if (z[0] != '+' && z[0] != '-') return false;
  for (std::size_t i = 1; i < z.size(); ++i) {
    if (i % 3 == 0 ? z[i] != ':' : !is_digit(z[i])) return false;
  }
  return true;
}

// Zero offsets become "Z"; ±HH gains ":00" so the offset is ISO 8601's ±HH:MM. Offsets with
// seconds (historic local mean time zones) keep them: no ISO form can carry them exactly.
void append_offset(std::string_view z, std::string& out) {
  if (z == "+00" || z == "-00" || z == "+00:00" || z == "+00:00:00") {
    out.push_back('Z');
    return;
  }
  out.append(z);
  if (z.size() == 3) out.append(":00");
}

// "HH:MM:SS" with an optional fraction.
bool valid_clock(std::string_view t) {
  if (t.size() < 8 || t[2] != ':' || t[5] != ':') return false;
  if (!is_digit(t[0]) || !is_digit(t[1]) || !is_digit(t[3]) || !is_digit(t[4]) || !is_digit(t[6]) ||
      !is_digit(t[7]))
    return false;
  if (t.size() == 8) return true;
  return t[8] == '.' && all_digits(t.substr(9));
}

struct IsoDate {
  std::string_view year;  // four or more digits
  std::string_view rest;  // "-MM-DD"
};

// "YYYY-MM-DD" (the year may have more digits); nullopt-like false when not that shape.
bool split_date(std::string_view d, IsoDate& date) {
  const auto dash = d.find('-');
  if (dash == std::string_view::npos || dash < 4 || d.size() != dash + 6) return false;
  date.year = d.substr(0, dash);
  date.rest = d.substr(dash);
  return all_digits(date.year) && date.rest[3] == '-' && is_digit(date.rest[1]) &&
         is_digit(date.rest[2]) && is_digit(date.rest[4]) && is_digit(date.rest[5]);
}

// PostgreSQL writes years before 1 AD as "YYYY-MM-DD ... BC"; ISO 8601 counts 1 BC as year 0
// and 2 BC as -0001.
void append_year(std::string_view year, bool bc, std::string& out) {
  if (!bc) {
    out.append(year);
    return;
  }
  uint64_t y = 0;
  std::from_chars(year.data(), year.data() + year.size(), y);
  const uint64_t astronomical = y - 1;
  if (astronomical != 0) out.push_back('-');
  const std::size_t before = out.size();
  detail::append_decimal(astronomical, out);
  const std::size_t digits = out.size() - before;
  if (digits < 4) out.insert(before, 4 - digits, '0');
}

// Year 0 does not exist in PostgreSQL's BC numbering.
bool valid_bc_year(std::string_view year, bool bc) {
  return !bc || year.find_first_not_of('0') != std::string_view::npos;
}

// timestamp / timestamptz in DateStyle ISO: "YYYY-MM-DD HH:MM:SS[.f][±zone][ BC]".
bool append_timestamp(std::string_view text, bool with_zone, std::string& out) {
  const bool bc = detail::strip_bc(text);
  const auto space = text.find(' ');
  if (space == std::string_view::npos) return false;
  IsoDate date;
  if (!split_date(text.substr(0, space), date) || !valid_bc_year(date.year, bc)) return false;
  std::string_view clock = text.substr(space + 1);
  std::string_view zone;
  if (with_zone) {
    const auto sign = clock.find_first_of("+-");
    if (sign == std::string_view::npos) return false;
    zone = clock.substr(sign);
    clock = clock.substr(0, sign);
    if (!valid_offset(zone)) return false;
  }
  if (!valid_clock(clock)) return false;
  out.push_back('"');
  append_year(date.year, bc, out);
  out.append(date.rest);
  out.push_back('T');
  out.append(clock);
  if (with_zone) append_offset(zone, out);
  out.push_back('"');
  return true;
}

bool append_date(std::string_view text, std::string& out) {
  const bool bc = detail::strip_bc(text);
  IsoDate date;
  if (!split_date(text, date) || !valid_bc_year(date.year, bc)) return false;
  out.push_back('"');
  append_year(date.year, bc, out);
  out.append(date.rest);
  out.push_back('"');
  return true;
}

bool append_timetz(std::string_view text, std::string& out) {
  const auto sign = text.find_first_of("+-");
  if (sign == std::string_view::npos) return false;
  const std::string_view clock = text.substr(0, sign), zone = text.substr(sign);
  if (!valid_clock(clock) || !valid_offset(zone)) return false;
  out.push_back('"');
  out.append(clock);
  append_offset(zone, out);
  out.push_back('"');
  return true;
}

bool equals_null(std::string_view s) {
  return s.size() == 4 && (s[0] | 0x20) == 'n' && (s[1] | 0x20) == 'u' && (s[2] | 0x20) == 'l' &&
         (s[3] | 0x20) == 'l';
}

// Parses PostgreSQL's array literal (array_out): {e,e,...}, nested braces for more dimensions,
// elements double-quoted when they contain special characters, with backslash escapes inside;
// an unquoted NULL is SQL null. Writes JSON arrays into `out`; returns false on malformed input
// (the caller then rolls `out` back).
class ArrayLiteralParser {
 public:
  ArrayLiteralParser(std::string_view text, uint32_t element_oid, std::string& out)
      : text_(text),
        element_oid_(element_oid),
        delimiter_(pg::array_delimiter(element_oid)),
        out_(out) {}

  bool parse() {
    skip_space();
    if (!parse_level(0)) return false;
    skip_space();
    return pos_ == text_.size();
  }

 private:
  // PostgreSQL's MAXDIM; also bounds the recursion on hostile input.
  static constexpr int kMaxDepth = 6;

  bool parse_level(int depth) {
    if (depth >= kMaxDepth || !consume('{')) return false;
    out_.push_back('[');
    skip_space();
    if (consume('}')) {
      out_.push_back(']');
      return true;
    }
    for (;;) {
      skip_space();
      if (pos_ < text_.size() && text_[pos_] == '{') {
        if (!parse_level(depth + 1)) return false;
      } else if (!parse_element()) {
        return false;
      }
      skip_space();
      if (consume(delimiter_)) {
        out_.push_back(',');
      } else if (consume('}')) {
        out_.push_back(']');
        return true;
      } else {
        return false;
      }
    }
  }

  bool parse_element() {
    if (pos_ >= text_.size()) return false;
    if (text_[pos_] == '"') return parse_quoted();
    const std::size_t start = pos_;
    bool escaped = false;
    while (pos_ < text_.size() && text_[pos_] != delimiter_ && text_[pos_] != '}') {
      if (text_[pos_] == '{' || text_[pos_] == '"') return false;
      if (text_[pos_] == '\\') {
        escaped = true;
        ++pos_;
      }
      ++pos_;
    }
    if (pos_ > text_.size()) return false;
    std::string_view raw = text_.substr(start, pos_ - start);
    while (!raw.empty() && is_space(raw.back())) raw.remove_suffix(1);
    if (raw.empty()) return false;
    if (!escaped) {
      if (equals_null(raw)) {
        out_.append("null");
      } else {
        append_json_value(element_oid_, raw, out_);
      }
      return true;
    }
    std::string& decoded = array_scratch();
    decoded.clear();
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '\\') ++i;
      if (i < raw.size()) decoded.push_back(raw[i]);
    }
    append_json_value(element_oid_, decoded, out_);
    return true;
  }

  bool parse_quoted() {
    ++pos_;
    const std::size_t start = pos_;
    bool escaped = false;
    while (pos_ < text_.size() && text_[pos_] != '"') {
      if (text_[pos_] == '\\') {
        escaped = true;
        ++pos_;
      }
      ++pos_;
    }
    if (pos_ >= text_.size()) return false;
    const std::string_view raw = text_.substr(start, pos_ - start);
    ++pos_;
    if (!escaped) {
      append_json_value(element_oid_, raw, out_);
      return true;
    }
    std::string& decoded = array_scratch();
    decoded.clear();
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '\\') ++i;
      decoded.push_back(raw[i]);
    }
    append_json_value(element_oid_, decoded, out_);
    return true;
  }

  bool consume(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  void skip_space() {
    while (pos_ < text_.size() && is_space(text_[pos_])) ++pos_;
  }

  std::string_view text_;
  uint32_t element_oid_;
  char delimiter_;
  std::string& out_;
  std::size_t pos_ = 0;
};

void append_array(std::string_view text, uint32_t element_oid, std::string& out) {
  // An array whose lower bound is not 1 prints as "[0:2]={...}"; it stays a string so the
  // bounds are not lost.
  const std::size_t rollback = out.size();
  if (!ArrayLiteralParser(text, element_oid, out).parse()) {
    out.resize(rollback);
    append_json_string(text, out);
  }
}

}  // namespace

void append_json_value(uint32_t type_oid, std::string_view text, std::string& out) {
  switch (type_oid) {
    case pg::kBoolOid:
      if (text == "t") {
        out.append("true");
      } else if (text == "f") {
        out.append("false");
      } else {
        append_json_string(text, out);
      }
      return;
    case pg::kInt2Oid:
    case pg::kInt4Oid:
    case pg::kInt8Oid:
    case pg::kOidOid:
      append_number_or_string(text, out);
      return;
    case pg::kFloat4Oid:
    case pg::kFloat8Oid:
      // Parsers that read integers apart from doubles (simdjson) take "-0" for the integer 0
      // and lose the sign; "-0.0" is negative zero to every reader.
      if (text == "-0") {
        out.append("-0.0");
        return;
      }
      // NaN, Infinity and -Infinity fail the grammar and become strings; so does a number
      // beyond a double's range (found by fuzzing: `1.5e607`, which no reader can hold).
      if (detail::is_json_number(text) && !fits_double(text)) {
        append_json_string(text, out);
        return;
      }
      append_number_or_string(text, out);
      return;
    case pg::kByteaOid:
      append_bytea(text, out);
      return;
    case pg::kJsonOid:
    case pg::kJsonbOid:
      // A string of the exact text, as Debezium's io.debezium.data.Json: json keeps its
      // whitespace, key order, duplicate keys and number spelling; numbers of any size reach
      // readers limited to 64-bit or double numbers; JSON null stays apart from SQL NULL.
      append_json_string(text, out);
      return;
    case pg::kTimestampTzOid:
    case pg::kTimestampOid:
      if (!append_timestamp(text, type_oid == pg::kTimestampTzOid, out))
        append_json_string(text, out);
      return;
    case pg::kDateOid:
      if (!append_date(text, out)) append_json_string(text, out);
      return;
    case pg::kTimeTzOid:
      if (!append_timetz(text, out)) append_json_string(text, out);
      return;
    default:
      break;
  }
  if (const uint32_t element = pg::array_element_oid(type_oid); element != 0) {
    append_array(text, element, out);
    return;
  }
  append_json_string(text, out);
}

}  // namespace modsync::event
