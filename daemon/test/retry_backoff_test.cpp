#include <catch2/catch.hpp>

#include <vector>

#include "retry_backoff.hpp"

using modsync::daemon::RetryBackoff;
using namespace std::chrono_literals;

namespace {
std::vector<long> delays_ms(RetryBackoff& b, int n, std::chrono::milliseconds ran_for) {
  std::vector<long> out;
  for (int i = 0; i < n; ++i) out.push_back(static_cast<long>(b.after_failure(ran_for).count()));
  return out;
}
}  // namespace

TEST_CASE("retries back off from 0.5 s doubling to 30 s", "[daemon][backoff]") {
  RetryBackoff b;
  CHECK(delays_ms(b, 9, 10ms) ==
        std::vector<long>{500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000});
}

// Regression (issue 7): the backoff never reset, so a long-lived daemon ended at 30 s per retry.
TEST_CASE("an attempt that ran for a while resets the backoff", "[daemon][backoff]") {
  RetryBackoff b;
  delays_ms(b, 8, 1s);  // an outage: the delay climbs to 30 s
  CHECK(b.after_failure(RetryBackoff::kHealthyRun).count() == 500);
  CHECK(delays_ms(b, 3, 1s) == std::vector<long>{1000, 2000, 4000});
  CHECK(b.after_failure(2h).count() == 500);
}

TEST_CASE("an attempt shorter than the healthy run keeps backing off", "[daemon][backoff]") {
  RetryBackoff b;
  delays_ms(b, 7, 1s);
  CHECK(b.after_failure(RetryBackoff::kHealthyRun - 1ms).count() == 30000);
  // Even retries that each wait the longest delay and then fail at once are not "working".
  CHECK(b.after_failure(RetryBackoff::kMax + 100ms).count() == 30000);
}
