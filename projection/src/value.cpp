#include "modsync/projection/value.hpp"

#include <charconv>
#include <cmath>

#include <simdjson.h>

#include "decimal.hpp"
#include "modsync/event/pg_types.hpp"

namespace modsync::projection {

namespace pg = event::pg;

namespace {

/// A number resolved for comparison: a finite decimal (views into the value's text or into a
/// caller's scratch buffer), an infinity, or not a number at all.
struct Number {
  enum class State : uint8_t { kFinite, kPositiveInfinity, kNegativeInfinity, kInvalid };
  State state = State::kInvalid;
  Decimal decimal;
};

Number from_double(double d, char (&scratch)[kPlainDoubleSize]) {
  Number n;
  if (std::isnan(d)) return n;
  if (std::isinf(d)) {
    n.state = d > 0 ? Number::State::kPositiveInfinity : Number::State::kNegativeInfinity;
    return n;
  }
  parse_decimal(shortest_plain_decimal(d, scratch), n.decimal);
  n.state = Number::State::kFinite;
  return n;
}

Number from_text(std::string_view text, char (&scratch)[kPlainDoubleSize]) {
  Number n;
  switch (parse_decimal(text, n.decimal)) {
    case NumberSyntax::kDecimal:
      n.state = Number::State::kFinite;
      return n;
    case NumberSyntax::kExponent: {
      double d = 0;
      if (!parse_double(text, d)) return n;
      return from_double(d, scratch);
    }
    case NumberSyntax::kInvalid:
      return n;
  }
  return n;
}

template <typename Integer>
Number from_integer(Integer v, char (&scratch)[kPlainDoubleSize]) {
  const auto result = std::to_chars(scratch, scratch + kPlainDoubleSize, v);
  Number n;
  parse_decimal(std::string_view(scratch, result.ptr - scratch), n.decimal);
  n.state = Number::State::kFinite;
  return n;
}

/// `text` is the number's text for kNumber/kText and for strings compared with numbers.
Number resolve(const Value& v, char (&scratch)[kPlainDoubleSize]) {
  if (v.kind == Value::Kind::kString) return from_text(v.text, scratch);
  switch (v.number_form) {
    case Value::NumberForm::kText:
      return from_text(v.text, scratch);
    case Value::NumberForm::kInt64:
      return from_integer(v.int64, scratch);
    case Value::NumberForm::kUint64:
      return from_integer(v.uint64, scratch);
    case Value::NumberForm::kDouble:
      return from_double(v.float64, scratch);
  }
  return {};
}

int rank(Number::State s) {
  switch (s) {
    case Number::State::kNegativeInfinity:
      return -1;
    case Number::State::kFinite:
    case Number::State::kInvalid:
      return 0;
    case Number::State::kPositiveInfinity:
      return 1;
  }
  return 0;
}

std::partial_ordering compare_numbers(const Value& a, const Value& b) {
  char scratch_a[kPlainDoubleSize];
  char scratch_b[kPlainDoubleSize];
  const Number x = resolve(a, scratch_a);
  const Number y = resolve(b, scratch_b);
  if (x.state == Number::State::kInvalid || y.state == Number::State::kInvalid) {
    return std::partial_ordering::unordered;
  }
  if (x.state != Number::State::kFinite || y.state != Number::State::kFinite) {
    return rank(x.state) <=> rank(y.state);
  }
  return compare_decimal(x.decimal, y.decimal);
}

bool is_number_type(uint32_t type_oid) {
  switch (type_oid) {
    case pg::kInt2Oid:
    case pg::kInt4Oid:
    case pg::kInt8Oid:
    case pg::kOidOid:
    case pg::kFloat4Oid:
    case pg::kFloat8Oid:
    case pg::kNumericOid:
      return true;
    default:
      return false;
  }
}

/// A number when `text` is one; otherwise (NaN, Infinity as numeric or float print them) a
/// string, so that `price = 'NaN'` still finds it.
Value number_or_string(std::string_view text) {
  Decimal ignored;
  if (parse_decimal(text, ignored) == NumberSyntax::kInvalid) return Value::of_string(text);
  return Value::of_decimal(text);
}

}  // namespace

Value Value::from_json(simdjson::dom::element element) {
  using simdjson::dom::element_type;
  switch (element.type()) {
    case element_type::NULL_VALUE:
      return null();
    case element_type::BOOL:
      return of_bool(element.get_bool().value_unsafe());
    case element_type::INT64:
      return of_int(element.get_int64().value_unsafe());
    case element_type::UINT64:
      return of_uint(element.get_uint64().value_unsafe());
    case element_type::DOUBLE:
      return of_double(element.get_double().value_unsafe());
    case element_type::STRING:
      return of_string(element.get_string().value_unsafe());
    case element_type::ARRAY:
    case element_type::OBJECT:
      return other();
  }
  return other();
}

Value Value::from_json(simdjson::dom::element element, uint32_t type_oid) {
  Value v = from_json(element);
  if (v.kind == Kind::kString && type_oid == pg::kNumericOid) return number_or_string(v.text);
  return v;
}

Value Value::from_pg_text(uint32_t type_oid, std::string_view text) {
  if (type_oid == pg::kBoolOid) {
    if (text == "t") return of_bool(true);
    if (text == "f") return of_bool(false);
    return of_string(text);
  }
  if (is_number_type(type_oid)) return number_or_string(text);
  if (type_oid == pg::kJsonOid || type_oid == pg::kJsonbOid ||
      pg::array_element_oid(type_oid) != 0) {
    return other();
  }
  return of_string(text);
}

Value Value::from_column(const event::ColumnValue& column, uint32_t type_oid) {
  switch (column.kind) {
    case event::ColumnValue::Kind::kNull:
      return null();
    case event::ColumnValue::Kind::kUnchanged:
      return unavailable();
    case event::ColumnValue::Kind::kText:
      return from_pg_text(type_oid, column.data);
    case event::ColumnValue::Kind::kBinary:
      return other();
  }
  return other();
}

std::partial_ordering compare_values(const Value& a, const Value& b) {
  using Kind = Value::Kind;
  const auto comparable_with_number = [](Kind k) {
    return k == Kind::kNumber || k == Kind::kString;
  };
  if (a.kind == Kind::kBool && b.kind == Kind::kBool) return a.boolean <=> b.boolean;
  if (a.kind == Kind::kString && b.kind == Kind::kString) return a.text.compare(b.text) <=> 0;
  if ((a.kind == Kind::kNumber && comparable_with_number(b.kind)) ||
      (b.kind == Kind::kNumber && comparable_with_number(a.kind))) {
    return compare_numbers(a, b);
  }
  // NULL, unavailable, kOther, and mixes such as bool with number.
  return std::partial_ordering::unordered;
}

}  // namespace modsync::projection
