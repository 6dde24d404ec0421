#include <catch2/catch.hpp>

#include "batch_budget.hpp"

using modsync::apply::BatchBudget;

TEST_CASE("a batch closes at its row limit", "[apply][batch_budget]") {
  BatchBudget budget(5000, 1 << 20);
  budget.count(0, 0);
  CHECK_FALSE(budget.full());
  CHECK(budget.room() == 100);  // no event seen yet: a first small poll to learn their size
  budget.count(100, 100 * 50);
  CHECK(budget.room() == 4900);  // 50-byte events: the rows run out before the bytes
  budget.count(5000, 5000 * 50);
  CHECK(budget.full());
  CHECK(budget.room() == 0);
}

TEST_CASE("a batch closes at its byte limit, and polls ask for what fits",
          "[apply][batch_budget]") {
  BatchBudget budget(5000, 1 << 20);
  budget.count(100, 100 * 2048);  // 2 KiB events: 512 fit in 1 MiB
  CHECK(budget.room() == 412);
  budget.count(500, 500 * 2048);
  CHECK(budget.room() == 12);
  budget.count(511, 511 * 2048 + 100);
  CHECK(budget.room() == 1);  // a partial event's worth of room still takes one
  budget.count(513, 513 * 2048);
  CHECK(budget.full());
  CHECK(budget.room() == 0);
}

TEST_CASE("one event larger than the byte budget is a batch of its own", "[apply][batch_budget]") {
  BatchBudget budget(5000, 1024);
  budget.count(0, 0);
  CHECK_FALSE(budget.full());  // an empty batch is never full: it takes at least one event
  budget.count(1, 10'000);
  CHECK(budget.full());
  // The next batch starts empty and asks for one event at that average size.
  budget.count(0, 0);
  CHECK(budget.room() == 1);
}

TEST_CASE("the average size carries over to the next batch", "[apply][batch_budget]") {
  BatchBudget budget(5000, 8 << 20);
  budget.count(1000, 1000 * 4096);
  budget.count(0, 0);
  CHECK(budget.room() == 2048);  // 8 MiB of 4 KiB events
}
