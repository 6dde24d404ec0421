#pragma once

#include <chrono>
#include <thread>

namespace modsync::testing {

/// Polls `predicate` until it returns true or `timeout` passes; it is evaluated once more at the
/// deadline, so a slow poll never loses a late success. Blocks the calling thread. Use as
/// `REQUIRE(eventually([&] { return rows() == 10; }))`. Keep predicates short (one query each):
/// a long-open transaction on the source holds back PostgreSQL's cleanup.
/// [[nodiscard]]: a dropped result makes a wait that cannot fail.
template <typename Predicate>
[[nodiscard]] bool eventually(Predicate&& predicate, std::chrono::milliseconds timeout = std::chrono::seconds(30),
                std::chrono::milliseconds interval = std::chrono::milliseconds(50)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (predicate()) return true;
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(interval, deadline - now));
  }
}

}  // namespace modsync::testing
