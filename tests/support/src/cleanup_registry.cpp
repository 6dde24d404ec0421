#include "cleanup_registry.hpp"

#include <signal.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <mutex>

namespace modsync::testing::cleanup {
namespace {

// Plain lock-free atomics in fixed arrays: a signal handler may touch nothing else.
constexpr size_t kSlots = 64;
std::array<std::atomic<pid_t>, kSlots> g_postmasters{};
std::array<std::atomic<pid_t>, kSlots> g_groups{};
constexpr std::array kFatalSignals = {SIGINT,  SIGTERM, SIGHUP, SIGQUIT, SIGABRT,
                                      SIGSEGV, SIGBUS,  SIGFPE, SIGILL};
struct sigaction g_previous[NSIG];
std::once_flag g_install_once;

void clean_up_all() {
  for (auto& slot : g_postmasters) {
    const pid_t pid = slot.exchange(0);
    if (pid > 0) ::kill(pid, SIGQUIT);
  }
  for (auto& slot : g_groups) {
    const pid_t pgid = slot.exchange(0);
    if (pgid > 0) ::kill(-pgid, SIGKILL);
  }
}

void on_fatal_signal(int sig) {
  const int saved_errno = errno;
  clean_up_all();
  // The signal is blocked while this handler runs, so the re-raised one is delivered to the
  // previous handler (or the default action) as soon as we return.
  ::sigaction(sig, &g_previous[sig], nullptr);
  ::raise(sig);
  errno = saved_errno;
}

void install() {
  std::atexit(clean_up_all);
  for (int sig : kFatalSignals) {
    struct sigaction sa {};
    sa.sa_handler = on_fatal_signal;
    sigemptyset(&sa.sa_mask);
    ::sigaction(sig, &sa, &g_previous[sig]);
  }
}

void add(std::array<std::atomic<pid_t>, kSlots>& table, pid_t pid) {
  std::call_once(g_install_once, install);
  for (auto& slot : table) {
    pid_t expected = 0;
    if (slot.compare_exchange_strong(expected, pid)) return;
  }
}

void remove(std::array<std::atomic<pid_t>, kSlots>& table, pid_t pid) {
  for (auto& slot : table) {
    pid_t expected = pid;
    if (slot.compare_exchange_strong(expected, 0)) return;
  }
}

}  // namespace

void add_postmaster(pid_t pid) {
  add(g_postmasters, pid);
}
void remove_postmaster(pid_t pid) {
  remove(g_postmasters, pid);
}
void add_process_group(pid_t pgid) {
  add(g_groups, pgid);
}
void remove_process_group(pid_t pgid) {
  remove(g_groups, pgid);
}

}  // namespace modsync::testing::cleanup
