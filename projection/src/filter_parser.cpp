#include "filter_parser.hpp"

#include <optional>
#include <utility>

#include <fmt/format.h>

namespace modsync::projection {

namespace {

std::optional<CompareOp> compare_op(std::string_view spelling) {
  if (spelling == "=") return CompareOp::kEqual;
  if (spelling == "!=" || spelling == "<>") return CompareOp::kNotEqual;
  if (spelling == "<") return CompareOp::kLess;
  if (spelling == "<=") return CompareOp::kLessEqual;
  if (spelling == ">") return CompareOp::kGreater;
  if (spelling == ">=") return CompareOp::kGreaterEqual;
  return std::nullopt;
}

std::string after_text(std::string_view after) {
  return after.empty() ? std::string() : fmt::format(" after {}", after);
}

bool is_keyword(const Token& token, Keyword keyword) {
  return token.type == Token::Type::kKeyword && token.keyword == keyword;
}

}  // namespace

FilterParser::FilterParser(std::string_view text) : lexer_(text) {
  program_.text = text;
}

FilterProgram FilterParser::parse() {
  program_.root = parse_or(0, "");
  const Token& rest = lexer_.peek();
  if (rest.type != Token::Type::kEnd) {
    fail_at(rest,
            fmt::format("expected AND, OR or end of expression, found {}", describe_found(rest)));
  }
  return std::move(program_);
}

uint32_t FilterParser::parse_or(int depth, std::string_view after) {
  std::vector<uint32_t> terms{parse_and(depth, after)};
  while (is_keyword(lexer_.peek(), Keyword::kOr)) {
    lexer_.next();
    terms.push_back(parse_and(depth, "OR"));
  }
  return terms.size() == 1 ? terms.front() : add_list(FilterNode::Type::kOr, terms);
}

uint32_t FilterParser::parse_and(int depth, std::string_view after) {
  std::vector<uint32_t> factors{parse_not(depth, after)};
  while (is_keyword(lexer_.peek(), Keyword::kAnd)) {
    lexer_.next();
    factors.push_back(parse_not(depth, "AND"));
  }
  return factors.size() == 1 ? factors.front() : add_list(FilterNode::Type::kAnd, factors);
}

uint32_t FilterParser::parse_not(int depth, std::string_view after) {
  if (!is_keyword(lexer_.peek(), Keyword::kNot)) return parse_predicate(depth, after);
  const Token not_token = lexer_.next();
  if (depth + 1 > kMaxDepth) {
    fail_at(not_token,
            fmt::format("expected at most {} nested parentheses and NOTs, found more", kMaxDepth));
  }
  FilterNode node;
  node.type = FilterNode::Type::kNot;
  node.first = parse_not(depth + 1, "NOT");
  return add(node);
}

uint32_t FilterParser::parse_predicate(int depth, std::string_view after) {
  if (lexer_.peek().type == Token::Type::kLeftParen) {
    const Token open = lexer_.next();
    if (depth + 1 > kMaxDepth) {
      fail_at(open, fmt::format("expected at most {} nested parentheses and NOTs, found more",
                                kMaxDepth));
    }
    const uint32_t inner = parse_or(depth + 1, "'('");
    const Token& close = lexer_.peek();
    if (close.type == Token::Type::kEnd) {
      fail_at(close, fmt::format("expected ')' to close the '(' at column {}, found {}",
                                 lexer_.column(open.offset), describe_found(close)));
    }
    if (close.type != Token::Type::kRightParen) {
      fail_at(close, fmt::format("expected AND, OR or ')', found {}", describe_found(close)));
    }
    lexer_.next();
    return inner;
  }

  const Token first = lexer_.peek();
  const std::optional<Operand> left = parse_operand();
  if (!left) {
    fail_at(first, fmt::format("expected a condition{}, found {}", after_text(after),
                               describe_found(first)));
  }

  const Token& next = lexer_.peek();
  if (next.type == Token::Type::kOperator) {
    const Token op_token = lexer_.next();
    const std::optional<CompareOp> op = compare_op(op_token.source);
    if (!op) {
      fail_at(op_token,
              fmt::format("expected one of = != <> < <= > >=, found {}", describe_found(op_token)));
    }
    const std::string quoted_op = fmt::format("'{}'", op_token.source);
    if (is_null_literal(*left)) {
      fail_at(first, fmt::format("expected a value before {}, found NULL (a comparison with NULL "
                                 "is never true: write IS NULL or IS NOT NULL)",
                                 quoted_op));
    }
    const Token second = lexer_.peek();
    const std::optional<Operand> right = parse_operand();
    if (!right) {
      fail_at(second, fmt::format("expected a value after {}, found {}", quoted_op,
                                  describe_found(second)));
    }
    if (is_null_literal(*right)) {
      fail_at(second, fmt::format("expected a value after {}, found NULL (a comparison with NULL "
                                  "is never true: write IS NULL or IS NOT NULL)",
                                  quoted_op));
    }
    FilterNode node;
    node.type = FilterNode::Type::kCompare;
    node.op = *op;
    node.left = *left;
    node.right = *right;
    return add(node);
  }
  if (is_keyword(next, Keyword::kNot)) {
    lexer_.next();
    const Token& what = lexer_.peek();
    if (is_keyword(what, Keyword::kIn)) return parse_in(*left, true);
    if (is_keyword(what, Keyword::kLike)) return parse_like(*left, true);
    fail_at(what, fmt::format("expected IN or LIKE after NOT, found {}", describe_found(what)));
  }
  if (is_keyword(next, Keyword::kIn)) return parse_in(*left, false);
  if (is_keyword(next, Keyword::kLike)) return parse_like(*left, false);
  if (is_keyword(next, Keyword::kIs)) return parse_is(*left);

  // A lone operand is a condition only when it can be boolean: a column, TRUE, FALSE, NULL.
  if (left->kind == Operand::Kind::kLiteral) {
    const Value::Kind kind = program_.literals[left->index].kind;
    if (kind == Value::Kind::kString || kind == Value::Kind::kNumber) {
      fail_at(next, fmt::format("expected a comparison, IN, IS or LIKE after {}, found {}",
                                first.source, describe_found(next)));
    }
  }
  FilterNode node;
  node.type = FilterNode::Type::kTruth;
  node.left = *left;
  return add(node);
}

uint32_t FilterParser::parse_in(Operand left, bool negated) {
  const std::string_view in = negated ? "NOT IN" : "IN";
  lexer_.next();
  const Token& open = lexer_.peek();
  if (open.type != Token::Type::kLeftParen) {
    fail_at(open, fmt::format("expected '(' after {}, found {}", in, describe_found(open)));
  }
  lexer_.next();
  if (lexer_.peek().type == Token::Type::kRightParen) {
    fail_at(lexer_.peek(), "expected at least one value in the IN list, found ')'");
  }
  FilterNode node;
  node.type = FilterNode::Type::kIn;
  node.negated = negated;
  node.left = left;
  // Nothing else adds literals while the list is read, so its literals are contiguous.
  node.first = static_cast<uint32_t>(program_.literals.size());
  for (;;) {
    const Token value = lexer_.peek();
    if (value.type == Token::Type::kIdentifier) {
      fail_at(value, fmt::format("expected a literal value in the IN list, found column {} "
                                 "(columns are not allowed in IN lists)",
                                 value.source));
    }
    if (is_keyword(value, Keyword::kNull)) {
      fail_at(value,
              "expected a value other than NULL in the IN list, found NULL (NULL equals "
              "nothing: test it with IS NULL)");
    }
    const std::optional<Operand> literal = parse_operand();
    if (!literal) {
      fail_at(value,
              fmt::format("expected a value in the IN list, found {}", describe_found(value)));
    }
    ++node.count;
    const Token& separator = lexer_.peek();
    if (separator.type == Token::Type::kRightParen) break;
    if (separator.type != Token::Type::kComma) {
      fail_at(separator, fmt::format("expected ',' or ')' in the IN list, found {}",
                                     describe_found(separator)));
    }
    lexer_.next();
  }
  lexer_.next();
  return add(node);
}

uint32_t FilterParser::parse_like(Operand left, bool negated) {
  const std::string_view like = negated ? "NOT LIKE" : "LIKE";
  lexer_.next();
  const Token pattern = lexer_.next();
  if (pattern.type != Token::Type::kString) {
    fail_at(pattern, fmt::format("expected a quoted pattern after {}, found {}", like,
                                 describe_found(pattern)));
  }
  std::optional<LikePattern> compiled = LikePattern::compile(pattern.value);
  if (!compiled) {
    lexer_.fail(pattern.offset + pattern.source.size() - 1,
                "expected a character after the escape '\\' at the end of the LIKE pattern, "
                "found end of pattern (write \\\\ for a backslash)");
  }
  FilterNode node;
  node.type = FilterNode::Type::kLike;
  node.negated = negated;
  node.left = left;
  node.first = static_cast<uint32_t>(program_.patterns.size());
  program_.patterns.push_back(std::move(*compiled));
  program_.pattern_texts.push_back(pattern.value);
  return add(node);
}

uint32_t FilterParser::parse_is(Operand left) {
  lexer_.next();
  FilterNode node;
  node.type = FilterNode::Type::kIsNull;
  node.left = left;
  if (is_keyword(lexer_.peek(), Keyword::kNot)) {
    lexer_.next();
    node.negated = true;
  }
  const Token& what = lexer_.peek();
  if (!is_keyword(what, Keyword::kNull)) {
    fail_at(what, fmt::format("expected {} after {}, found {}",
                              node.negated ? "NULL" : "NULL or NOT NULL",
                              node.negated ? "IS NOT" : "IS", describe_found(what)));
  }
  lexer_.next();
  return add(node);
}

std::optional<Operand> FilterParser::parse_operand() {
  const Token& token = lexer_.peek();
  Operand operand;
  switch (token.type) {
    case Token::Type::kIdentifier:
      operand.kind = Operand::Kind::kColumn;
      operand.index = column_slot(token);
      break;
    case Token::Type::kString:
    case Token::Type::kNumber:
      operand.index = add_literal(token);
      break;
    case Token::Type::kKeyword:
      if (token.keyword != Keyword::kTrue && token.keyword != Keyword::kFalse &&
          token.keyword != Keyword::kNull) {
        return std::nullopt;
      }
      operand.index = add_literal(token);
      break;
    default:
      return std::nullopt;
  }
  lexer_.next();
  return operand;
}

uint32_t FilterParser::add_literal(const Token& token) {
  Literal literal;
  switch (token.type) {
    case Token::Type::kString:
      literal.kind = Value::Kind::kString;
      literal.text = token.value;
      break;
    case Token::Type::kNumber:
      literal.kind = Value::Kind::kNumber;
      literal.text = token.value;
      break;
    default:
      literal.kind = token.keyword == Keyword::kNull ? Value::Kind::kNull : Value::Kind::kBool;
      literal.boolean = token.keyword == Keyword::kTrue;
      break;
  }
  program_.literals.push_back(std::move(literal));
  return static_cast<uint32_t>(program_.literals.size() - 1);
}

uint32_t FilterParser::column_slot(const Token& token) {
  for (std::size_t i = 0; i < program_.columns.size(); ++i) {
    if (program_.columns[i] == token.value) return static_cast<uint32_t>(i);
  }
  program_.columns.push_back(token.value);
  program_.column_positions.push_back(lexer_.column(token.offset));
  return static_cast<uint32_t>(program_.columns.size() - 1);
}

uint32_t FilterParser::add(FilterNode node) {
  program_.nodes.push_back(node);
  return static_cast<uint32_t>(program_.nodes.size() - 1);
}

uint32_t FilterParser::add_list(FilterNode::Type type, const std::vector<uint32_t>& children) {
  FilterNode node;
  node.type = type;
  node.first = static_cast<uint32_t>(program_.children.size());
  node.count = static_cast<uint32_t>(children.size());
  program_.children.insert(program_.children.end(), children.begin(), children.end());
  return add(node);
}

bool FilterParser::is_null_literal(const Operand& operand) const {
  return operand.kind == Operand::Kind::kLiteral &&
         program_.literals[operand.index].kind == Value::Kind::kNull;
}

void FilterParser::fail_at(const Token& token, std::string reason) const {
  lexer_.fail(token.offset, std::move(reason));
}

}  // namespace modsync::projection
