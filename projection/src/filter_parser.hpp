#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "filter_lexer.hpp"
#include "filter_program.hpp"

namespace modsync::projection {

/// Recursive descent over the grammar in docs/filters.md, one token of lookahead. Single use:
/// construct, then call parse() once.
class FilterParser {
 public:
  explicit FilterParser(std::string_view text);

  /// Throws FilterError at the first problem.
  FilterProgram parse();

 private:
  /// Parentheses and NOTs nest by recursion; a limit keeps a hostile `where` from exhausting
  /// the stack at start-up (and at evaluation).
  static constexpr int kMaxDepth = 100;

  /// `after` names what precedes, for errors: "AND", "'('", or "" at the start.
  uint32_t parse_or(int depth, std::string_view after);
  uint32_t parse_and(int depth, std::string_view after);
  uint32_t parse_not(int depth, std::string_view after);
  uint32_t parse_predicate(int depth, std::string_view after);
  uint32_t parse_in(Operand left, bool negated);
  uint32_t parse_like(Operand left, bool negated);
  uint32_t parse_is(Operand left);

  /// An operand, or nullopt when the next token cannot start one (nothing consumed).
  std::optional<Operand> parse_operand();
  uint32_t add_literal(const Token& token);
  uint32_t column_slot(const Token& token);
  uint32_t add(FilterNode node);
  uint32_t add_list(FilterNode::Type type, const std::vector<uint32_t>& children);
  bool is_null_literal(const Operand& operand) const;
  [[noreturn]] void fail_at(const Token& token, std::string reason) const;

  FilterLexer lexer_;
  FilterProgram program_;
};

}  // namespace modsync::projection
