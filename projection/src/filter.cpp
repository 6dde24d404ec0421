#include "modsync/projection/filter.hpp"

#include <algorithm>
#include <cctype>
#include <utility>

#include <fmt/format.h>

#include "filter_parser.hpp"
#include "filter_program.hpp"
#include "modsync/projection/filter_error.hpp"

namespace modsync::projection {

namespace {

bool is_blank(std::string_view text) {
  return text.find_first_not_of(" \t\n\r\f") == std::string_view::npos;
}

std::string quote(std::string_view text, char q) {
  std::string out(1, q);
  for (char c : text) {
    out += c;
    if (c == q) out += q;
  }
  out += q;
  return out;
}

/// A bare identifier when it reads back as the same column, otherwise double-quoted.
std::string column_text(std::string_view name) {
  bool bare = !name.empty() && !(name.front() >= '0' && name.front() <= '9');
  for (char c : name) {
    bare = bare &&
           ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
  }
  if (bare) {
    FilterLexer lexer(name);
    bare = lexer.peek().type == Token::Type::kIdentifier;
  }
  return bare ? std::string(name) : quote(name, '"');
}

std::string_view op_text(CompareOp op) {
  switch (op) {
    case CompareOp::kEqual:
      return "=";
    case CompareOp::kNotEqual:
      return "<>";
    case CompareOp::kLess:
      return "<";
    case CompareOp::kLessEqual:
      return "<=";
    case CompareOp::kGreater:
      return ">";
    case CompareOp::kGreaterEqual:
      return ">=";
  }
  return "?";
}

class Describer {
 public:
  explicit Describer(const FilterProgram& program) : program_(program) {}

  std::string node(uint32_t index) const {
    const FilterNode& n = program_.nodes[index];
    switch (n.type) {
      case FilterNode::Type::kOr:
      case FilterNode::Type::kAnd: {
        std::string out = "(";
        for (uint32_t i = 0; i < n.count; ++i) {
          if (i > 0) out += n.type == FilterNode::Type::kOr ? " OR " : " AND ";
          out += node(program_.children[n.first + i]);
        }
        return out + ")";
      }
      case FilterNode::Type::kNot:
        return fmt::format("(NOT {})", node(n.first));
      case FilterNode::Type::kCompare:
        return fmt::format("({} {} {})", operand(n.left), op_text(n.op), operand(n.right));
      case FilterNode::Type::kIn: {
        std::string list;
        for (uint32_t i = 0; i < n.count; ++i) {
          if (i > 0) list += ", ";
          list += literal(program_.literals[n.first + i]);
        }
        return fmt::format("({} {}IN ({}))", operand(n.left), n.negated ? "NOT " : "", list);
      }
      case FilterNode::Type::kIsNull:
        return fmt::format("({} IS {}NULL)", operand(n.left), n.negated ? "NOT " : "");
      case FilterNode::Type::kLike:
        return fmt::format("({} {}LIKE {})", operand(n.left), n.negated ? "NOT " : "",
                           quote(program_.pattern_texts[n.first], '\''));
      case FilterNode::Type::kTruth:
        return operand(n.left);
    }
    return "?";
  }

 private:
  std::string operand(const Operand& o) const {
    if (o.kind == Operand::Kind::kColumn) return column_text(program_.columns[o.index]);
    return literal(program_.literals[o.index]);
  }

  static std::string literal(const Literal& l) {
    switch (l.kind) {
      case Value::Kind::kBool:
        return l.boolean ? "TRUE" : "FALSE";
      case Value::Kind::kNumber:
        return l.text;
      case Value::Kind::kString:
        return quote(l.text, '\'');
      default:
        return "NULL";
    }
  }

  const FilterProgram& program_;
};

}  // namespace

Filter::Filter(std::shared_ptr<const FilterProgram> program) : program_(std::move(program)) {}

Filter Filter::match_all() {
  return Filter(nullptr);
}

Filter Filter::parse(std::string_view text) {
  if (is_blank(text)) return match_all();
  return Filter(std::make_shared<const FilterProgram>(FilterParser(text).parse()));
}

bool Filter::is_match_all() const {
  return program_ == nullptr;
}

const std::string& Filter::text() const {
  static const std::string kEmpty;
  return program_ ? program_->text : kEmpty;
}

std::vector<std::string> Filter::columns() const {
  return program_ ? program_->columns : std::vector<std::string>{};
}

std::string Filter::describe() const {
  return program_ ? Describer(*program_).node(program_->root) : "TRUE";
}

BoundFilter Filter::bind(const std::vector<std::string>& column_names) const {
  if (!program_) return BoundFilter(nullptr, {});
  std::vector<std::size_t> indexes;
  indexes.reserve(program_->columns.size());
  for (std::size_t slot = 0; slot < program_->columns.size(); ++slot) {
    const std::string& name = program_->columns[slot];
    std::size_t index = 0;
    while (index < column_names.size() && column_names[index] != name) ++index;
    if (index < column_names.size()) {
      indexes.push_back(index);
      continue;
    }
    std::string available;
    std::string hint;
    for (const std::string& candidate : column_names) {
      if (!available.empty()) available += ", ";
      available += column_text(candidate);
      const bool same_ignoring_case =
          candidate.size() == name.size() &&
          std::equal(candidate.begin(), candidate.end(), name.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) ==
                   std::tolower(static_cast<unsigned char>(b));
          });
      if (same_ignoring_case && hint.empty()) {
        hint = fmt::format(" (names are case-sensitive: did you mean {}?)", column_text(candidate));
      }
    }
    throw FilterError(
        program_->text, program_->column_positions[slot],
        fmt::format("expected a column of the table ({}), found unknown column {}{}",
                    available.empty() ? "it has none" : available, column_text(name), hint));
  }
  return BoundFilter(program_, std::move(indexes));
}

}  // namespace modsync::projection
