// How many workers apply a projection (sink.workers and its default).

#include <algorithm>
#include <thread>

#include <catch2/catch.hpp>

#include "modsync/apply/apply_pipeline.hpp"

using modsync::apply::apply_worker_count;

TEST_CASE("sink.workers is taken as set, but never above the partition count", "[apply][workers]") {
  CHECK(apply_worker_count(3, 6, 1) == 3);
  CHECK(apply_worker_count(1, 6, 1) == 1);
  CHECK(apply_worker_count(8, 6, 1) == 6);  // a worker applies whole partitions
  CHECK(apply_worker_count(4, 1, 1) == 1);
  CHECK(apply_worker_count(2, 0, 1) == 1);  // no metadata yet: one worker, never none
}

TEST_CASE("the default worker count is min(partitions, cores / projections, 4)",
          "[apply][workers]") {
  const size_t cores = std::max(1u, std::thread::hardware_concurrency());
  CHECK(apply_worker_count(0, 1, 1) == 1);
  CHECK(apply_worker_count(0, 3, 1) == std::min<size_t>(3, cores));
  CHECK(apply_worker_count(0, 64, 1) == std::min<size_t>(4, cores));
  // The sink's projections share the cores, one worker each at least.
  CHECK(apply_worker_count(0, 64, 2) == std::min<size_t>(4, std::max<size_t>(1, cores / 2)));
  CHECK(apply_worker_count(0, 64, 4 * cores) == 1);
  CHECK(apply_worker_count(3, 64, 4 * cores) == 3);  // a set count is kept
}
