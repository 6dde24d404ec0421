#include "filter_lexer.hpp"

#include <array>
#include <utility>

#include <fmt/format.h>

#include "decimal.hpp"
#include "modsync/projection/filter_error.hpp"

namespace modsync::projection {

namespace {

/// Exponents beyond this would make a literal's plain decimal form absurdly long.
constexpr long kMaxExponent = 1000;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_identifier_start(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
bool is_identifier_char(char c) {
  return is_identifier_start(c) || is_digit(c);
}
bool is_operator_char(char c) {
  return c == '=' || c == '!' || c == '<' || c == '>' || c == '&' || c == '|';
}
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

Keyword keyword_of(std::string_view word) {
  static constexpr std::array<std::pair<std::string_view, Keyword>, 9> kKeywords{{
      {"AND", Keyword::kAnd},
      {"OR", Keyword::kOr},
      {"NOT", Keyword::kNot},
      {"IN", Keyword::kIn},
      {"IS", Keyword::kIs},
      {"NULL", Keyword::kNull},
      {"LIKE", Keyword::kLike},
      {"TRUE", Keyword::kTrue},
      {"FALSE", Keyword::kFalse},
  }};
  for (const auto& [spelling, keyword] : kKeywords) {
    if (spelling.size() != word.size()) continue;
    bool same = true;
    for (std::size_t i = 0; same && i < word.size(); ++i) {
      const char c = word[i] >= 'a' && word[i] <= 'z' ? static_cast<char>(word[i] - 32) : word[i];
      same = c == spelling[i];
    }
    if (same) return keyword;
  }
  return Keyword::kNone;
}

}  // namespace

FilterLexer::FilterLexer(std::string_view text) : text_(text) {
  current_ = scan();
}

Token FilterLexer::next() {
  Token token = std::move(current_);
  current_ = scan();
  return token;
}

int FilterLexer::column(std::size_t offset) const {
  int column = 1;
  for (std::size_t i = 0; i < offset && i < text_.size(); ++i) {
    column += (static_cast<unsigned char>(text_[i]) & 0xC0) != 0x80;
  }
  return column;
}

void FilterLexer::fail(std::size_t offset, std::string reason) const {
  throw FilterError(text_, column(offset), std::move(reason));
}

Token FilterLexer::scan() {
  while (pos_ < text_.size() && is_space(text_[pos_])) ++pos_;
  const std::size_t begin = pos_;
  Token token;
  token.offset = begin;
  if (pos_ == text_.size()) return token;

  const char c = text_[pos_];
  const bool signed_number = (c == '-' || c == '+') && pos_ + 1 < text_.size() &&
                             (is_digit(text_[pos_ + 1]) || text_[pos_ + 1] == '.');
  if (is_digit(c) || signed_number ||
      (c == '.' && pos_ + 1 < text_.size() && is_digit(text_[pos_ + 1]))) {
    return scan_number(begin);
  }
  if (c == '\'' || c == '"') return scan_quoted(begin, c);
  if (is_identifier_start(c)) {
    while (pos_ < text_.size() && is_identifier_char(text_[pos_])) ++pos_;
    token.source = text_.substr(begin, pos_ - begin);
    token.keyword = keyword_of(token.source);
    token.type = token.keyword == Keyword::kNone ? Token::Type::kIdentifier : Token::Type::kKeyword;
    token.value = token.source;
    return token;
  }
  if (is_operator_char(c)) {
    while (pos_ < text_.size() && is_operator_char(text_[pos_])) ++pos_;
    token.type = Token::Type::kOperator;
  } else {
    ++pos_;
    switch (c) {
      case '(':
        token.type = Token::Type::kLeftParen;
        break;
      case ')':
        token.type = Token::Type::kRightParen;
        break;
      case ',':
        token.type = Token::Type::kComma;
        break;
      default:
        // Take a whole UTF-8 sequence, so the error shows the character, not a broken byte.
        while (pos_ < text_.size() && (static_cast<unsigned char>(text_[pos_]) & 0xC0) == 0x80) {
          ++pos_;
        }
        token.type = Token::Type::kInvalid;
        break;
    }
  }
  token.source = text_.substr(begin, pos_ - begin);
  return token;
}

Token FilterLexer::scan_quoted(std::size_t begin, char quote) {
  Token token;
  token.offset = begin;
  token.type = quote == '\'' ? Token::Type::kString : Token::Type::kIdentifier;
  ++pos_;
  for (;;) {
    if (pos_ == text_.size()) {
      fail(begin, quote == '\'' ? "expected ' to close the string that starts here, found end "
                                  "of expression"
                                : "expected \" to close the column name that starts here, found "
                                  "end of expression");
    }
    const char c = text_[pos_++];
    if (c != quote) {
      token.value += c;
    } else if (pos_ < text_.size() && text_[pos_] == quote) {
      token.value += quote;  // a doubled quote stands for one
      ++pos_;
    } else {
      break;
    }
  }
  token.source = text_.substr(begin, pos_ - begin);
  if (quote == '"' && token.value.empty()) {
    fail(begin, "expected a column name between the double quotes, found \"\"");
  }
  return token;
}

Token FilterLexer::scan_number(std::size_t begin) {
  Token token;
  token.offset = begin;
  // Take the whole run that looks like part of a number, so 1.2.3 or 12abc is reported as one
  // malformed number rather than as two tokens.
  if (text_[pos_] == '-' || text_[pos_] == '+') ++pos_;
  while (pos_ < text_.size()) {
    const char c = text_[pos_];
    const bool exponent_sign =
        (c == '-' || c == '+') && (text_[pos_ - 1] == 'e' || text_[pos_ - 1] == 'E');
    if (!is_identifier_char(c) && c != '.' && !exponent_sign) break;
    ++pos_;
  }
  token.source = text_.substr(begin, pos_ - begin);

  Decimal decimal;
  const NumberSyntax syntax = parse_decimal(token.source, decimal);
  if (syntax == NumberSyntax::kInvalid) {
    token.type = Token::Type::kInvalid;
    token.value = "malformed number";
    return token;
  }
  token.type = Token::Type::kNumber;
  std::string_view source = token.source;
  const bool negative = source.front() == '-';
  if (source.front() == '-' || source.front() == '+') source.remove_prefix(1);
  long exponent = 0;
  if (const auto e = source.find_first_of("eE"); e != std::string_view::npos) {
    std::string_view digits = source.substr(e + 1);
    const bool exponent_negative = digits.front() == '-';
    if (digits.front() == '-' || digits.front() == '+') digits.remove_prefix(1);
    for (char d : digits) {
      exponent = exponent * 10 + (d - '0');
      if (exponent > kMaxExponent) {
        fail(begin, fmt::format("expected a number with an exponent between -{} and {}, found {}",
                                kMaxExponent, kMaxExponent, token.source));
      }
    }
    if (exponent_negative) exponent = -exponent;
    source = source.substr(0, e);
  }
  // Significant digits and where the decimal point falls among them.
  std::string digits;
  long point = 0;
  bool seen_point = false;
  for (char c : source) {
    if (c == '.') {
      seen_point = true;
    } else if (digits.empty() && c == '0') {
      if (seen_point) --point;  // a leading zero after the point shifts the point left
    } else {
      digits += c;
      if (!seen_point) ++point;
    }
  }
  write_plain_decimal(negative, digits, point + exponent, [&](char c) { token.value += c; });
  return token;
}

std::string describe_found(const Token& token) {
  switch (token.type) {
    case Token::Type::kEnd:
      return "end of expression";
    case Token::Type::kOperator: {
      std::string hint;
      if (token.source == "==") hint = " (write =)";
      if (token.source == "&&" || token.source == "&") hint = " (write AND)";
      if (token.source == "||" || token.source == "|") hint = " (write OR)";
      if (token.source == "!") hint = " (write NOT)";
      return fmt::format("'{}'{}", token.source, hint);
    }
    case Token::Type::kLeftParen:
    case Token::Type::kRightParen:
    case Token::Type::kComma:
      return fmt::format("'{}'", token.source);
    case Token::Type::kInvalid:
      if (!token.value.empty()) return fmt::format("{} {}", token.value, token.source);
      return fmt::format("unexpected character '{}'", token.source);
    case Token::Type::kIdentifier:
    case Token::Type::kKeyword:
    case Token::Type::kString:
    case Token::Type::kNumber:
      return std::string(token.source);
  }
  return std::string(token.source);
}

}  // namespace modsync::projection
