#include "like_pattern.hpp"

namespace modsync::projection {

namespace {

/// The index just past the UTF-8 sequence starting at `i`, so `_` never splits a character.
/// Invalid UTF-8 steps one byte at a time rather than failing: the pattern still terminates.
std::size_t next_character(std::string_view text, std::size_t i) {
  ++i;
  while (i < text.size() && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) ++i;
  return i;
}

}  // namespace

std::optional<LikePattern> LikePattern::compile(std::string_view pattern) {
  LikePattern compiled;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\') {
      if (++i == pattern.size()) return std::nullopt;
      compiled.pieces_.push_back(static_cast<unsigned char>(pattern[i]));
    } else if (c == '%') {
      // Consecutive %s match what one does; collapsing them keeps backtracking linear in them.
      if (compiled.pieces_.empty() || compiled.pieces_.back() != kAnyRun) {
        compiled.pieces_.push_back(kAnyRun);
      }
    } else if (c == '_') {
      compiled.pieces_.push_back(kAnyOne);
    } else {
      compiled.pieces_.push_back(static_cast<unsigned char>(c));
    }
  }
  return compiled;
}

bool LikePattern::matches(std::string_view text) const {
  // Greedy matching that backtracks only to the most recent %: an earlier % can never be
  // made to match more usefully than the later one, so one restart point is enough.
  const std::size_t n = text.size();
  const std::size_t m = pieces_.size();
  std::size_t t = 0;
  std::size_t p = 0;
  std::size_t star = m;  // m: no % seen yet
  std::size_t star_text = 0;
  while (t < n) {
    if (p < m && pieces_[p] == kAnyOne) {
      t = next_character(text, t);
      ++p;
    } else if (p < m && pieces_[p] >= 0 && static_cast<unsigned char>(text[t]) == pieces_[p]) {
      ++t;
      ++p;
    } else if (p < m && pieces_[p] == kAnyRun) {
      star = p++;
      star_text = t;
    } else if (star != m) {
      p = star + 1;
      star_text = next_character(text, star_text);
      t = star_text;
    } else {
      return false;
    }
  }
  while (p < m && pieces_[p] == kAnyRun) ++p;
  return p == m;
}

}  // namespace modsync::projection
