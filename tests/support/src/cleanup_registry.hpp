#pragma once
// Last-resort clean-up when a test process dies without running destructors: postmasters get
// SIGQUIT (PostgreSQL's immediate shutdown), child process groups get SIGKILL. Runs from an
// atexit handler and from handlers for fatal and terminal signals, which then re-raise the signal
// through the previously installed handler (e.g. Catch's reporter).

#include <sys/types.h>

namespace modsync::testing::cleanup {

/// Async-signal-safe bookkeeping in a fixed table of 64 slots of each kind; beyond that, entries
/// are simply not covered. Thread-safe.
void add_postmaster(pid_t pid);
void remove_postmaster(pid_t pid);
void add_process_group(pid_t pgid);
void remove_process_group(pid_t pgid);

}  // namespace modsync::testing::cleanup
