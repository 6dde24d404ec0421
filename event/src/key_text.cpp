#include <locale.h>
#include <wctype.h>

#include <string>
#include <string_view>

#include "modsync/event/envelope.hpp"
#include "modsync/event/pg_types.hpp"

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
  if (is_citext(column.type_name)) {
    scratch.clear();
    append_lower(text, scratch);
    return scratch;
  }
  return text;
}

}  // namespace modsync::event
