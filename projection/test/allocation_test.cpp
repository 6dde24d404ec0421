// The hot-path promise: evaluating a bound filter does not allocate. Counts global operator new
// calls while a flag is set; the replacement applies to this whole test binary but only counts
// inside the measured section.

#include <catch2/catch.hpp>

#include <array>
#include <cstdlib>
#include <new>

#include "modsync/projection/filter.hpp"

namespace {
thread_local bool counting = false;
thread_local std::size_t allocations = 0;
}  // namespace

// GCC pairs the replaced new with the library's delete when it inlines; both are malloc/free.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(std::size_t size) {
  if (counting) ++allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

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
  allocations = 0;
  counting = true;
  for (int i = 0; i < 100; ++i) matched = bound.matches(row);
  counting = false;
  CHECK(matched);
  CHECK(allocations == 0);
}
