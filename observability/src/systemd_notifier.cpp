#include "modsync/observability/systemd_notifier.hpp"

#include <systemd/sd-daemon.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include <spdlog/spdlog.h>

namespace modsync::observability {

bool SystemdNotifier::enabled() const noexcept {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  return socket != nullptr && *socket != '\0';
}

void SystemdNotifier::send(const char* state) const noexcept {
  if (!enabled()) return;
  // sd_notify returns 0 when NOTIFY_SOCKET is unset, > 0 when sent, < 0 (-errno) on failure.
  const int rc = sd_notify(0, state);
  if (rc < 0) {
    spdlog::warn("systemd notification \"{}\" not sent to NOTIFY_SOCKET {}: {}", state,
                 std::getenv("NOTIFY_SOCKET"), std::strerror(-rc));
  }
}

void SystemdNotifier::ready() const noexcept {
  send("READY=1");
}
void SystemdNotifier::stopping() const noexcept {
  send("STOPPING=1");
}
void SystemdNotifier::reloading() const noexcept {
  send("RELOADING=1");
}
void SystemdNotifier::watchdog() const noexcept {
  send("WATCHDOG=1");
}

void SystemdNotifier::status(std::string_view text) const noexcept {
  if (!enabled()) return;
  try {
    std::string state = "STATUS=";
    for (char c : text) state += (c == '\n' || c == '\r') ? ' ' : c;
    send(state.c_str());
  } catch (...) {
    // Allocation failed: a status line is not worth failing for.
  }
}

std::optional<std::chrono::microseconds> SystemdNotifier::watchdog_interval() const noexcept {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    return std::chrono::microseconds(static_cast<int64_t>(usec));
  }
  return std::nullopt;
}

}  // namespace modsync::observability
