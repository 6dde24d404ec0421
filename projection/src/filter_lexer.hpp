#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace modsync::projection {

enum class Keyword : uint8_t { kNone, kAnd, kOr, kNot, kIn, kIs, kNull, kLike, kTrue, kFalse };

struct Token {
  enum class Type : uint8_t {
    kEnd,
    kIdentifier,  ///< a column name, bare or double-quoted; `value` is the name
    kKeyword,     ///< `keyword` says which
    kString,      ///< `value` is the unescaped text
    kNumber,      ///< `value` is the plain decimal form
    kOperator,    ///< a run of =!<>&| characters, valid or not: the parser judges
    kLeftParen,
    kRightParen,
    kComma,
    kInvalid,  ///< a character that starts no token, or a malformed number
  };
  Type type = Type::kEnd;
  Keyword keyword = Keyword::kNone;
  std::string_view source;  ///< the token as written
  std::size_t offset = 0;   ///< byte offset in the expression
  std::string value;        ///< for kInvalid: what is wrong ("malformed number"), or empty
};

/// Splits a `where` expression into tokens on demand, so that a problem is reported where the
/// parser meets it. Keywords are case-insensitive; bare identifiers that spell one are
/// keywords. Throws FilterError for an unterminated string or quoted name, an empty quoted
/// name, and a number whose exponent is out of range.
class FilterLexer {
 public:
  explicit FilterLexer(std::string_view text);

  const Token& peek() const { return current_; }
  Token next();

  /// The 1-based character column of a byte offset.
  int column(std::size_t offset) const;
  [[noreturn]] void fail(std::size_t offset, std::string reason) const;

 private:
  Token scan();
  Token scan_quoted(std::size_t begin, char quote);
  Token scan_number(std::size_t begin);

  std::string_view text_;
  std::size_t pos_ = 0;
  Token current_;
};

/// How a found token is named in errors: `'='`, `AND`, `'paid'`, `end of expression`.
std::string describe_found(const Token& token);

}  // namespace modsync::projection
