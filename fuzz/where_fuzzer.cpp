// libFuzzer target: a projection's `where` text through the parser, binding and evaluation.
//
// Input: the `where` text itself (fuzz/corpus/where/ holds the examples of docs/filters.md).
//
// Oracles: parse throws FilterError and nothing else; describe() is a fixed point (the
// normalized text parses to the same expression); the normalized expression evaluates to the
// same truth value as the original on every row tried.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "modsync/projection/filter.hpp"
#include "modsync/projection/filter_error.hpp"

namespace {

using modsync::projection::BoundFilter;
using modsync::projection::Filter;
using modsync::projection::FilterError;
using modsync::projection::Truth;
using modsync::projection::Value;

[[noreturn]] void finding(const std::string& text, const std::string& what) {
  fprintf(stderr, "where_fuzzer: %s\n  where: %s\n", what.c_str(), text.c_str());
  abort();
}

// Values of every kind and number form, with the edge cases of comparisons.
const std::vector<Value>& palette() {
  static const std::vector<Value> values = {
      Value::null(),
      Value::unavailable(),
      Value::other(),
      Value::of_bool(false),
      Value::of_bool(true),
      Value::of_int(0),
      Value::of_int(-1),
      Value::of_int(INT64_MIN),
      Value::of_int(INT64_MAX),
      Value::of_uint(UINT64_MAX),
      Value::of_double(0.5),
      Value::of_double(-0.0),
      Value::of_double(1e308),
      Value::of_decimal("12.50"),
      Value::of_decimal("-0"),
      Value::of_decimal("1e+30"),
      Value::of_decimal("99999999999999999999999999999.000000001"),
      Value::of_decimal("NaN"),
      Value::of_decimal("not a number"),
      Value::of_string(""),
      Value::of_string("paid"),
      Value::of_string("12.5"),
      Value::of_string("AB-%_\\x"),
      Value::of_string(std::string_view("nul\0byte", 8)),
      Value::of_string("\xc3\xa9t\xc3\xa9"),
  };
  return values;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  Filter filter = Filter::match_all();
  try {
    filter = Filter::parse(text);
  } catch (const FilterError&) {
    return 0;
  }
  const std::string described = filter.describe();
  const std::vector<std::string> columns = filter.columns();

  Filter again = Filter::match_all();
  try {
    again = Filter::parse(described);
  } catch (const FilterError& e) {
    // describe() adds parentheses, which count towards the nesting limit.
    if (e.reason().find("nested") != std::string::npos) return 0;
    finding(text, "describe() does not parse: " + described + ": " + e.what());
  }
  if (again.describe() != described) {
    finding(text, "describe() is not a fixed point: " + described + " -> " + again.describe());
  }
  if (again.columns() != columns) finding(text, "columns() differ after describe()");

  // Bound to the columns it names, plus one it does not read.
  std::vector<std::string> names = columns;
  names.push_back("_unread");
  const BoundFilter bound = filter.bind(names);
  const BoundFilter bound_again = again.bind(names);
  const auto& values = palette();
  std::vector<Value> row(names.size());
  for (size_t r = 0; r < 16; ++r) {
    for (size_t i = 0; i < row.size(); ++i) {
      const size_t pick = size ? data[(i * 31 + r * 7) % size] : 0;
      row[i] = values[(pick + i * 5 + r * 3) % values.size()];
    }
    const Truth first = bound.evaluate(row);
    if (bound_again.evaluate(row) != first) finding(text, "describe() changes the result");
    // Shorter rows read the missing columns as unavailable; they must not crash.
    (void)bound.evaluate(std::span<const Value>(row.data(), r % (row.size() + 1)));
  }
  return 0;
}
