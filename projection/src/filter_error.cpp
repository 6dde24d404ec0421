#include "modsync/projection/filter_error.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace modsync::projection {

namespace {

constexpr std::size_t kExcerptWindow = 40;  ///< bytes shown each side of a long expression's caret

bool is_continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

std::size_t characters(std::string_view text) {
  std::size_t n = 0;
  for (char c : text) n += !is_continuation(c);
  return n;
}

/// The byte offset of the 1-based character column (the end of `text` when past it).
std::size_t byte_offset(std::string_view text, int column) {
  std::size_t offset = 0;
  for (int seen = 1; offset < text.size(); ++offset) {
    if (!is_continuation(text[offset]) && seen++ == column) return offset;
  }
  return offset;
}

/// The expression on one line with a caret under `column`; a long one is cut to a window
/// around the caret so the line stays readable.
std::string excerpt(std::string_view text, int column) {
  const std::size_t at = byte_offset(text, column);
  std::size_t begin = 0;
  std::size_t end = text.size();
  if (text.size() > 2 * kExcerptWindow) {
    begin = at > kExcerptWindow ? at - kExcerptWindow : 0;
    end = std::min(text.size(), at + kExcerptWindow);
    while (begin > 0 && is_continuation(text[begin])) --begin;
    while (end < text.size() && is_continuation(text[end])) ++end;
  }
  std::string line = begin > 0 ? "..." : "";
  const std::size_t caret = characters(line) + characters(text.substr(begin, at - begin));
  for (char c : text.substr(begin, end - begin)) {
    // Newlines and tabs (a YAML block scalar) would break the caret's alignment.
    line += static_cast<unsigned char>(c) < 0x20 ? ' ' : c;
  }
  if (end < text.size()) line += "...";
  return fmt::format("  {}\n  {}^", line, std::string(caret, ' '));
}

}  // namespace

FilterError::FilterError(std::string_view text, int column, std::string reason)
    : Error(ErrorKind::kFatal,
            fmt::format("where: column {}: {}\n{}", column, reason, excerpt(text, column))),
      column_(column),
      reason_(std::move(reason)) {}

}  // namespace modsync::projection
