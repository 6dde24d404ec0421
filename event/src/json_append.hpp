#pragma once
// Small append-into-a-buffer helpers shared by the encoder's sources. Private to the module.

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace modsync::event::detail {

template <typename Int>
void append_decimal(Int value, std::string& out) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, r.ptr);
}

/// Appends `value` as exactly `digits` uppercase hex digits (zero padded, high digits first).
inline void append_hex_fixed(uint64_t value, int digits, std::string& out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  char buf[16];
  for (int i = digits - 1; i >= 0; --i) {
    buf[i] = kHex[value & 0xF];
    value >>= 4;
  }
  out.append(buf, static_cast<std::size_t>(digits));
}

/// Removes PostgreSQL's " BC" era suffix of a date or timestamp; true when it was there.
inline bool strip_bc(std::string_view& text) {
  constexpr std::string_view kBc = " BC";
  if (text.size() > kBc.size() && text.substr(text.size() - kBc.size()) == kBc) {
    text.remove_suffix(kBc.size());
    return true;
  }
  return false;
}

/// Appends the standard (RFC 4648, padded) base64 of `bytes`, without quotes.
void append_base64(std::string_view bytes, std::string& out);

/// Appends the bytes of standard padded base64 `text` to `bytes`; false (bytes then undefined)
/// when `text` is not base64.
bool decode_base64(std::string_view text, std::string& bytes);

/// True when `bytes` is well-formed UTF-8 (no overlong forms, surrogates or code points past
/// U+10FFFF), i.e. can be written as a JSON string without losing anything.
bool is_valid_utf8(std::string_view bytes);

/// True when `text` is a number by JSON's grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
bool is_json_number(std::string_view text);

}  // namespace modsync::event::detail
