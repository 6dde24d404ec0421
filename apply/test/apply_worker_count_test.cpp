// How many workers apply a projection (sink.workers and its default).

#include <algorithm>
#include <thread>

#include <catch2/catch.hpp>

#include "modsync/apply/apply_pipeline.hpp"

using modsync::apply::apply_worker_count;

TEST_CASE("sink.workers is taken as set, but never above the partition count", "[apply][workers]") {
  CHECK(apply_worker_count(3, 6) == 3);
  CHECK(apply_worker_count(1, 6) == 1);
  CHECK(apply_worker_count(8, 6) == 6);  // a worker applies whole partitions
  CHECK(apply_worker_count(4, 1) == 1);
  CHECK(apply_worker_count(2, 0) == 1);  // no metadata yet: one worker, never none
}

TEST_CASE("the default worker count is min(partitions, cores, 4)", "[apply][workers]") {
  const size_t cores = std::max(1u, std::thread::hardware_concurrency());
  CHECK(apply_worker_count(0, 1) == 1);
  CHECK(apply_worker_count(0, 3) == std::min<size_t>(3, cores));
  CHECK(apply_worker_count(0, 64) == std::min<size_t>(4, cores));
}
