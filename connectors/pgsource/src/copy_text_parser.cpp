#include "modsync/pgsource/copy_text_parser.hpp"

#include <cstring>

#include "modsync/common/error.hpp"

namespace modsync::pgsource {

namespace {

using event::ColumnValue;

constexpr size_t kInRow = std::string_view::npos;

bool is_octal(char c) {
  return c >= '0' && c <= '7';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Appends `field` (which holds a backslash) to `out` with COPY's escapes undone.
void unescape(std::string_view field, std::string& out) {
  for (size_t i = 0; i < field.size(); ++i) {
    char c = field[i];
    if (c != '\\' || i + 1 == field.size()) {
      out += c;
      continue;
    }
    c = field[++i];
    switch (c) {
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'v':
        out += '\v';
        break;
      case 'x': {
        int v = i + 1 < field.size() ? hex_value(field[i + 1]) : -1;
        if (v < 0) {
          out += 'x';
          break;
        }
        ++i;
        if (i + 1 < field.size() && hex_value(field[i + 1]) >= 0)
          v = v * 16 + hex_value(field[++i]);
        out += static_cast<char>(v);
        break;
      }
      default:
        if (is_octal(c)) {
          int v = c - '0';
          for (int k = 0; k < 2 && i + 1 < field.size() && is_octal(field[i + 1]); ++k)
            v = v * 8 + (field[++i] - '0');
          out += static_cast<char>(v);
        } else {
          out += c;  // `\\`, and a backslash before any other byte
        }
    }
  }
}

}  // namespace

void CopyTextParser::parse(std::string_view row, size_t columns, std::string_view what) {
  if (!row.empty() && row.back() == '\n') row.remove_suffix(1);
  values_.resize(columns);
  offsets_.resize(columns);
  unescaped_.clear();
  size_t n = 0;
  size_t at = 0;
  for (;;) {
    const void* tab = std::memchr(row.data() + at, '\t', row.size() - at);
    const size_t end =
        tab ? static_cast<size_t>(static_cast<const char*>(tab) - row.data()) : row.size();
    if (n == columns) {
      fail(
          "{}: a COPY row has more than the {} columns expected. Fix: the table changed during "
          "the snapshot; restart modsync to read its columns again.",
          what, columns);
    }
    const std::string_view field = row.substr(at, end - at);
    if (field == "\\N") {
      values_[n] = ColumnValue{ColumnValue::Kind::kNull, {}};
      offsets_[n] = kInRow;
    } else if (field.find('\\') == std::string_view::npos) {
      values_[n] = ColumnValue{ColumnValue::Kind::kText, field};
      offsets_[n] = kInRow;
    } else {
      offsets_[n] = unescaped_.size();
      unescape(field, unescaped_);
      // The view is set below: unescaped_ may still grow (and move).
      values_[n] = ColumnValue{ColumnValue::Kind::kText, {}};
      values_[n].data = std::string_view(nullptr, unescaped_.size() - offsets_[n]);
    }
    ++n;
    if (!tab) break;
    at = end + 1;
  }
  if (n != columns) {
    fail(
        "{}: a COPY row has {} columns, {} expected. Fix: the table changed during the "
        "snapshot; restart modsync to read its columns again.",
        what, n, columns);
  }
  for (size_t i = 0; i < columns; ++i) {
    if (offsets_[i] != kInRow)
      values_[i].data = std::string_view(unescaped_.data() + offsets_[i], values_[i].data.size());
  }
}

}  // namespace modsync::pgsource
