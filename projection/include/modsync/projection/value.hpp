#pragma once
// The value of one column as a filter sees it: a small view filled per row by the sink, from a
// parsed event (simdjson DOM) or from PostgreSQL's text form. Comparison rules: docs/filters.md.

#include <compare>
#include <cstdint>
#include <string_view>

#include "modsync/event/row.hpp"

// Declared rather than included: simdjson.h is a very large header and only value.cpp needs its
// definitions. Callers of from_json have simdjson.h included anyway.
namespace simdjson::dom {
class element;
}  // namespace simdjson::dom

namespace modsync::projection {

/// One column value. A view: `text` points into memory the caller owns (the parsed event or the
/// decoder's buffer), which must outlive every use of the Value. Cheap to copy; never allocates.
struct Value {
  enum class Kind : uint8_t {
    kNull,         ///< SQL NULL (JSON null)
    kUnavailable,  ///< not in the row image (an unchanged TOASTed column): every test is unknown
    kBool,
    kNumber,
    kString,
    kOther,  ///< arrays, objects, json documents, binary values: only IS [NOT] NULL applies
  };
  /// How a kNumber is held. Whichever the form, numbers compare by exact value.
  enum class NumberForm : uint8_t {
    kText,    ///< decimal text in `text`: "-12.50", "1e+30" (exponent forms compare as double)
    kInt64,   ///< `int64`
    kUint64,  ///< `uint64`
    kDouble,  ///< `float64`
  };

  Kind kind = Kind::kNull;
  NumberForm number_form = NumberForm::kText;
  bool boolean = false;
  int64_t int64 = 0;
  uint64_t uint64 = 0;
  double float64 = 0;
  std::string_view text;  ///< kString: the bytes; kNumber with kText: the decimal text

  static constexpr Value null() { return {}; }
  static constexpr Value unavailable() { return Value{.kind = Kind::kUnavailable}; }
  static constexpr Value other() { return Value{.kind = Kind::kOther}; }
  static constexpr Value of_bool(bool b) { return Value{.kind = Kind::kBool, .boolean = b}; }
  static constexpr Value of_int(int64_t v) {
    return Value{.kind = Kind::kNumber, .number_form = NumberForm::kInt64, .int64 = v};
  }
  static constexpr Value of_uint(uint64_t v) {
    return Value{.kind = Kind::kNumber, .number_form = NumberForm::kUint64, .uint64 = v};
  }
  static constexpr Value of_double(double v) {
    return Value{.kind = Kind::kNumber, .number_form = NumberForm::kDouble, .float64 = v};
  }
  /// A number in decimal text (PostgreSQL's numeric/int/float output, or a JSON number's text).
  /// Text that is not a number makes every comparison with this value unknown.
  static constexpr Value of_decimal(std::string_view t) {
    return Value{.kind = Kind::kNumber, .number_form = NumberForm::kText, .text = t};
  }
  static constexpr Value of_string(std::string_view s) {
    return Value{.kind = Kind::kString, .text = s};
  }

  /// From a value of an event's `after`/`before` object (docs/events.md). JSON numbers become
  /// numbers, strings strings (a numeric column's "12.50" stays a string: it still compares
  /// numerically with numbers, see docs/filters.md), arrays and objects kOther. `element` must
  /// outlive the Value (its strings are views into the parser's buffer).
  static Value from_json(simdjson::dom::element element);
  /// As above, but knowing the column's type: a JSON string of a `numeric` column (OID 1700)
  /// becomes a number, so two numeric columns compare numerically with each other too.
  static Value from_json(simdjson::dom::element element, uint32_t type_oid);
  /// From PostgreSQL's text output form of a value of type `type_oid`: bool, integer, float and
  /// numeric types become kBool/kNumber; json, jsonb and arrays kOther; the rest kString.
  static Value from_pg_text(uint32_t type_oid, std::string_view text);
  /// From a pgoutput column: NULL → kNull, unchanged TOAST → kUnavailable, text → from_pg_text,
  /// binary → kOther. `column.data` must outlive the Value.
  static Value from_column(const event::ColumnValue& column, uint32_t type_oid);
};

/// Orders two values as the filter does (docs/filters.md, "Comparisons"): numbers by exact
/// value, also against strings that hold a decimal number; strings bytewise; false < true.
/// `unordered` when either is NULL or unavailable, or the kinds cannot be compared (which the
/// filter evaluates as unknown). Does not allocate.
std::partial_ordering compare_values(const Value& a, const Value& b);

}  // namespace modsync::projection
