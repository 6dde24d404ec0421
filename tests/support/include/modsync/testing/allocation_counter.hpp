#pragma once
// Counts global operator new calls, for tests of the hot-path promise "no allocation once the
// buffers are warm". Linking modsync_allocation_counter replaces operator new/delete for the
// whole test binary; only calls inside count_allocations() are counted (on the calling thread).

#include <cstddef>

namespace modsync::testing {

namespace detail {
void start_counting_allocations();
std::size_t stop_counting_allocations();
}  // namespace detail

/// The number of operator new calls `work()` made on this thread.
template <typename Work>
std::size_t count_allocations(Work&& work) {
  detail::start_counting_allocations();
  work();
  return detail::stop_counting_allocations();
}

}  // namespace modsync::testing
