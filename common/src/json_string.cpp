#include "modsync/common/json_string.hpp"

#include <array>
#include <cstdint>
#include <cstring>

namespace modsync {

namespace {

constexpr std::array<bool, 256> kNeedsEscape = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[c] = true;
  t['"'] = true;
  t['\\'] = true;
  return t;
}();

// The length of the longest prefix of `text` that JSON strings can hold unescaped. Tests eight
// bytes at a time (exact for "is any byte < 0x20, '"' or '\\'"), since most text has nothing
// to escape and this scan is the encoder's hottest loop.
std::size_t clean_prefix_length(std::string_view text) {
  constexpr uint64_t kOnes = 0x0101010101010101ull, kHighs = 0x8080808080808080ull;
  const auto has_zero_byte = [](uint64_t v) { return ((v - kOnes) & ~v & kHighs) != 0; };
  std::size_t i = 0;
  for (; i + 8 <= text.size(); i += 8) {
    uint64_t v;
    std::memcpy(&v, text.data() + i, 8);
    const bool control = ((v - kOnes * 0x20) & ~v & kHighs) != 0;
    if (control || has_zero_byte(v ^ (kOnes * '"')) || has_zero_byte(v ^ (kOnes * '\\'))) break;
  }
  while (i < text.size() && !kNeedsEscape[static_cast<unsigned char>(text[i])]) ++i;
  return i;
}

}  // namespace

void append_json_string(std::string_view text, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  const std::size_t clean = clean_prefix_length(text);
  if (clean == text.size()) {
    // The common case, one copy.
    const std::size_t at = out.size();
    out.resize(at + text.size() + 2);
    char* w = out.data() + at;
    w[0] = '"';
    std::memcpy(w + 1, text.data(), text.size());
    w[text.size() + 1] = '"';
    return;
  }
  out.push_back('"');
  const char* run = text.data();
  const char* const end = text.data() + text.size();
  for (const char* p = run + clean; p != end; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if (!kNeedsEscape[c]) continue;
    out.append(run, p);
    run = p + 1;
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      case '\b':
        out.append("\\b");
        break;
      case '\f':
        out.append("\\f");
        break;
      default: {
        const char u[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
        out.append(u, sizeof u);
      }
    }
  }
  out.append(run, end);
  out.push_back('"');
}

std::string json_quoted(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  append_json_string(text, out);
  return out;
}

}  // namespace modsync
