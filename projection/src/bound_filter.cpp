#include "modsync/projection/bound_filter.hpp"

#include <utility>

#include "filter_program.hpp"

namespace modsync::projection {

namespace {

Truth negate(Truth t) {
  switch (t) {
    case Truth::kFalse:
      return Truth::kTrue;
    case Truth::kTrue:
      return Truth::kFalse;
    case Truth::kUnknown:
      return Truth::kUnknown;
  }
  return Truth::kUnknown;
}

Truth truth(bool b) {
  return b ? Truth::kTrue : Truth::kFalse;
}

Truth apply(CompareOp op, std::partial_ordering order) {
  if (order == std::partial_ordering::unordered) return Truth::kUnknown;
  switch (op) {
    case CompareOp::kEqual:
      return truth(order == 0);
    case CompareOp::kNotEqual:
      return truth(order != 0);
    case CompareOp::kLess:
      return truth(order < 0);
    case CompareOp::kLessEqual:
      return truth(order <= 0);
    case CompareOp::kGreater:
      return truth(order > 0);
    case CompareOp::kGreaterEqual:
      return truth(order >= 0);
  }
  return Truth::kUnknown;
}

/// Walks the program for one row. Recursion depth is bounded by the parser's nesting limit.
class Evaluator {
 public:
  Evaluator(const FilterProgram& program, const std::vector<std::size_t>& indexes,
            std::span<const Value> row)
      : program_(program), indexes_(indexes), row_(row) {}

  Truth node(uint32_t index) const {
    const FilterNode& n = program_.nodes[index];
    switch (n.type) {
      case FilterNode::Type::kOr: {
        // TRUE wins; otherwise one unknown makes the whole unknown.
        Truth result = Truth::kFalse;
        for (uint32_t i = 0; i < n.count; ++i) {
          const Truth t = node(program_.children[n.first + i]);
          if (t == Truth::kTrue) return t;
          if (t == Truth::kUnknown) result = t;
        }
        return result;
      }
      case FilterNode::Type::kAnd: {
        Truth result = Truth::kTrue;
        for (uint32_t i = 0; i < n.count; ++i) {
          const Truth t = node(program_.children[n.first + i]);
          if (t == Truth::kFalse) return t;
          if (t == Truth::kUnknown) result = t;
        }
        return result;
      }
      case FilterNode::Type::kNot:
        return negate(node(n.first));
      case FilterNode::Type::kCompare:
        return apply(n.op, compare_values(operand(n.left), operand(n.right)));
      case FilterNode::Type::kIn:
        return in_list(n);
      case FilterNode::Type::kIsNull: {
        const Value v = operand(n.left);
        if (v.kind == Value::Kind::kUnavailable) return Truth::kUnknown;
        const Truth is_null = truth(v.kind == Value::Kind::kNull);
        return n.negated ? negate(is_null) : is_null;
      }
      case FilterNode::Type::kLike: {
        const Value v = operand(n.left);
        if (v.kind != Value::Kind::kString) return Truth::kUnknown;
        const Truth like = truth(program_.patterns[n.first].matches(v.text));
        return n.negated ? negate(like) : like;
      }
      case FilterNode::Type::kTruth: {
        const Value v = operand(n.left);
        return v.kind == Value::Kind::kBool ? truth(v.boolean) : Truth::kUnknown;
      }
    }
    return Truth::kUnknown;
  }

 private:
  Value operand(const Operand& o) const {
    if (o.kind == Operand::Kind::kLiteral) return program_.literals[o.index].value();
    const std::size_t i = indexes_[o.index];
    return i < row_.size() ? row_[i] : Value::unavailable();
  }

  Truth in_list(const FilterNode& n) const {
    const Value v = operand(n.left);
    Truth found = Truth::kFalse;
    for (uint32_t i = 0; i < n.count; ++i) {
      const Truth equal =
          apply(CompareOp::kEqual, compare_values(v, program_.literals[n.first + i].value()));
      if (equal == Truth::kTrue) {
        found = equal;
        break;
      }
      if (equal == Truth::kUnknown) found = equal;
    }
    return n.negated ? negate(found) : found;
  }

  const FilterProgram& program_;
  const std::vector<std::size_t>& indexes_;
  std::span<const Value> row_;
};

}  // namespace

BoundFilter::BoundFilter(std::shared_ptr<const FilterProgram> program,
                         std::vector<std::size_t> row_indexes)
    : program_(std::move(program)), row_indexes_(std::move(row_indexes)) {}

Truth BoundFilter::evaluate(std::span<const Value> row) const {
  if (!program_) return Truth::kTrue;
  return Evaluator(*program_, row_indexes_, row).node(program_->root);
}

}  // namespace modsync::projection
