#include <catch2/catch.hpp>

#include "modsync/observability/pipeline_watch.hpp"

using modsync::observability::RecoveryWatch;

TEST_CASE("a recovery is told after two healthy looks with no retry between") {
  modsync::apply::ApplyStats stats;
  stats.set_error("sink ship: cannot connect");
  stats.retries = 3;
  RecoveryWatch watch;
  CHECK_FALSE(watch.look("apply", false, stats));  // retrying
  CHECK_FALSE(watch.look("apply", true, stats));   // healthy once: could fail a moment later
  CHECK(stats.last_error() == "sink ship: cannot connect");
  CHECK(watch.look("apply", true, stats));
  CHECK(stats.last_error().empty());
  CHECK(stats.last_error_unix_ms() == 0);
  CHECK_FALSE(watch.look("apply", true, stats));  // nothing left to recover from
}

TEST_CASE("a retry between two healthy looks is no recovery") {
  modsync::capture::CaptureStats stats;
  stats.set_error("slot lost");
  RecoveryWatch watch;
  CHECK_FALSE(watch.look("capture", true, stats));
  stats.retries.fetch_add(1);  // it failed and started again between the looks
  CHECK_FALSE(watch.look("capture", true, stats));
  CHECK(stats.last_error() == "slot lost");
  CHECK(watch.look("capture", true, stats));
}
