#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <string>

#include "modsync/common/error_record.hpp"
#include "modsync/observability/recovery_watch.hpp"

using modsync::observability::RecoveryWatch;

namespace {

/// The parts of a pipeline's stats the watch reads, as capture::CaptureStats and
/// apply::ApplyStats hold them (observability sits below both and knows neither).
struct PipelineStats {
  std::atomic<uint64_t> retries{0};
  modsync::ErrorRecord error;
  std::string last_error() const { return error.message(); }
  int64_t last_error_unix_ms() const { return error.at_unix_ms(); }
  void clear_error() { error.clear(); }
};

}  // namespace

TEST_CASE("a recovery is told after two healthy looks with no retry between") {
  PipelineStats stats;
  stats.error.set("sink ship: cannot connect");
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
  PipelineStats stats;
  stats.error.set("slot lost");
  RecoveryWatch watch;
  CHECK_FALSE(watch.look("capture", true, stats));
  stats.retries.fetch_add(1);  // it failed and started again between the looks
  CHECK_FALSE(watch.look("capture", true, stats));
  CHECK(stats.last_error() == "slot lost");
  CHECK(watch.look("capture", true, stats));
}
