#include <catch2/catch.hpp>

#include "modsync/config/duration.hpp"

using modsync::config::Duration;
using modsync::config::format_duration;
using modsync::config::parse_duration;
using namespace std::chrono_literals;

TEST_CASE("durations accept ms, s, m, h and bare seconds", "[config][duration]") {
  CHECK(parse_duration("250ms") == Duration{250});
  CHECK(parse_duration("5s") == Duration{5000});
  CHECK(parse_duration("2m") == Duration{120000});
  CHECK(parse_duration("1h") == Duration{3600000});
  CHECK(parse_duration("30") == Duration{30000});
  CHECK(parse_duration("0") == Duration{0});
  CHECK(parse_duration("0ms") == Duration{0});
}

TEST_CASE("durations reject malformed, negative and overflowing text", "[config][duration]") {
  for (const char* bad : {"", "s", "-1s", "1.5s", "5 s", " 5s", "5sec", "5S", "1d", "ms",
                          "99999999999999999999", "9223372036854775807h"}) {
    INFO(bad);
    CHECK_FALSE(parse_duration(bad));
  }
}

TEST_CASE("durations print in the largest exact unit", "[config][duration]") {
  CHECK(format_duration(0ms) == "0s");
  CHECK(format_duration(250ms) == "250ms");
  CHECK(format_duration(1500ms) == "1500ms");
  CHECK(format_duration(30s) == "30s");
  CHECK(format_duration(2min) == "2m");
  CHECK(format_duration(1h) == "1h");
  CHECK(format_duration(90s) == "90s");
}
