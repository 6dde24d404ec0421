// The hot-path promise: evaluating a bound filter does not allocate. Counts global operator new
// calls (tests/support's allocation counter).

#include <catch2/catch.hpp>

#include "modsync/testing/allocation_counter.hpp"

#include <array>

#include "modsync/projection/filter.hpp"

using modsync::testing::count_allocations;

using modsync::projection::Filter;
using modsync::projection::Value;

TEST_CASE("matches() does not allocate", "[filter][allocation]") {
  const auto bound =
      Filter::parse(
          "(status IN ('paid', 'shipped') AND total > 9007199254740992.5) OR "
          "(sku LIKE 'A%B_%' AND NOT ratio < 1e-3 AND big = 18446744073709551615) OR "
          "note IS NULL OR paid")
          .bind({"status", "total", "sku", "ratio", "big", "note", "paid"});
  const std::array<Value, 7> row{Value::of_string("paid"),
                                 Value::of_decimal("9007199254740993.25"),
                                 Value::of_string("AxxBé-1"),
                                 Value::of_double(1e-300),
                                 Value::of_uint(18446744073709551615u),
                                 Value::of_string("n"),
                                 Value::of_bool(false)};
  bool matched = false;
  const std::size_t allocations =
      count_allocations([&] {
        for (int i = 0; i < 100; ++i) matched = bound.matches(row);
      });
  CHECK(matched);
  CHECK(allocations == 0);
}
