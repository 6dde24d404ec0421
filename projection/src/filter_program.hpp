#pragma once
// The parsed form of a `where` expression, shared (immutable) by a Filter and its BoundFilters.

#include <cstdint>
#include <string>
#include <vector>

#include "like_pattern.hpp"
#include "modsync/projection/value.hpp"

namespace modsync::projection {

/// A literal of the expression; owns its text, so Values made from it stay valid as long as
/// the program lives.
struct Literal {
  Value::Kind kind = Value::Kind::kNull;  ///< kNull, kBool, kNumber or kString
  bool boolean = false;
  std::string text;  ///< kString: unescaped; kNumber: plain decimal ("-12.5", no exponent)

  Value value() const {
    switch (kind) {
      case Value::Kind::kBool:
        return Value::of_bool(boolean);
      case Value::Kind::kNumber:
        return Value::of_decimal(text);
      case Value::Kind::kString:
        return Value::of_string(text);
      default:
        return Value::null();
    }
  }
};

struct Operand {
  enum class Kind : uint8_t { kColumn, kLiteral };
  Kind kind = Kind::kLiteral;
  uint32_t index = 0;  ///< column slot (FilterProgram::columns) or index into literals
};

enum class CompareOp : uint8_t { kEqual, kNotEqual, kLess, kLessEqual, kGreater, kGreaterEqual };

struct FilterNode {
  enum class Type : uint8_t {
    kOr,       ///< children [first, first + count)
    kAnd,      ///< children [first, first + count)
    kNot,      ///< child `first`
    kCompare,  ///< left op right
    kIn,       ///< left [NOT] IN literals [first, first + count)
    kIsNull,   ///< left IS [NOT] NULL
    kLike,     ///< left [NOT] LIKE patterns[first]
    kTruth,    ///< a lone operand: TRUE when it is boolean true
  };
  Type type = Type::kTruth;
  CompareOp op = CompareOp::kEqual;
  bool negated = false;  ///< NOT IN, IS NOT NULL, NOT LIKE
  Operand left;
  Operand right;
  uint32_t first = 0;
  uint32_t count = 0;
};

struct FilterProgram {
  std::string text;
  std::vector<std::string> columns;   ///< by slot, distinct, in order of first appearance
  std::vector<int> column_positions;  ///< by slot: 1-based character column of first use
  std::vector<Literal> literals;
  std::vector<LikePattern> patterns;
  std::vector<std::string> pattern_texts;  ///< as written, for describe()
  std::vector<uint32_t> children;
  std::vector<FilterNode> nodes;
  uint32_t root = 0;
};

}  // namespace modsync::projection
