#include "retry_backoff.hpp"

#include <algorithm>

namespace modsync::daemon {

std::chrono::milliseconds RetryBackoff::after_failure(std::chrono::steady_clock::duration ran_for) {
  if (ran_for >= kHealthyRun) next_ = kInitial;
  const std::chrono::milliseconds delay = next_;
  next_ = std::min(next_ * 2, kMax);
  return delay;
}

}  // namespace modsync::daemon
