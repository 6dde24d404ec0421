#include <catch2/catch.hpp>

#include "modsync/config/interpolation.hpp"
#include "test_files.hpp"

using modsync::config::interpolate;
using modsync::config::test::fake_env;

TEST_CASE("interpolation substitutes set variables and defaults", "[config][env]") {
  const auto env = fake_env({{"HOST", "db1"}, {"EMPTY", ""}});
  CHECK(interpolate("host=${HOST} port=5432", env).value == "host=db1 port=5432");
  CHECK(interpolate("${HOST:-other}", env).value == "db1");
  CHECK(interpolate("${MISSING:-localhost:9092}", env).value == "localhost:9092");
  // As in the shell, ":-" also replaces an empty value.
  CHECK(interpolate("${EMPTY:-fallback}", env).value == "fallback");
  CHECK(interpolate("${EMPTY}", env).value == "");
  CHECK(interpolate("${MISSING:-}", env).value == "");
  CHECK(interpolate("${HOST}${HOST}", env).value == "db1db1");
}

TEST_CASE("interpolation keeps literal dollars", "[config][env]") {
  const auto env = fake_env({{"X", "1"}});
  CHECK(interpolate("cost $$5", env).value == "cost $5");
  CHECK(interpolate("$${X}", env).value == "${X}");
  CHECK(interpolate("a$b", env).value == "a$b");
  CHECK(interpolate("end$", env).value == "end$");
  // The default is taken literally, not expanded again.
  CHECK(interpolate("${MISSING:-$X}", env).value == "$X");
}

TEST_CASE("interpolation errors name the variable and the fix", "[config][env]") {
  const auto env = fake_env();
  CHECK(interpolate("${ORDERS_DSN}", env).error ==
        "expected environment variable ORDERS_DSN to be set; got unset. Fix: export ORDERS_DSN, "
        "or give a default with ${ORDERS_DSN:-default}.");
  CHECK(interpolate("x ${OPEN", env).error ==
        "expected ${NAME} or ${NAME:-default}; got an unterminated \"${\". Fix: close it with "
        "\"}\", or write \"$$\" for a literal \"$\".");
  CHECK(interpolate("${1BAD}", env).error ==
        "expected an environment variable name [A-Za-z_][A-Za-z0-9_]* inside ${…}; got \"1BAD\". "
        "Fix: correct the name, or write \"$$\" for a literal \"$\".");
  CHECK_FALSE(interpolate("${}", env).error.empty());
}
