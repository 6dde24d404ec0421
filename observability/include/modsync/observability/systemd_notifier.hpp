#pragma once
// The systemd service-manager protocol (sd_notify(3)) for Type=notify units.

#include <chrono>
#include <optional>
#include <string_view>

namespace modsync::observability {

/// Tells systemd how the daemon is doing: READY=1 once the pipelines run, STATUS= lines shown by
/// `systemctl status`, STOPPING=1 when a stop begins, WATCHDOG=1 pings.
///
/// Every call is a no-op when NOTIFY_SOCKET is unset (not started by systemd, or in a container),
/// so the daemon calls them unconditionally. Notifications are best effort: a failure to send is
/// logged as a warning (spdlog) and otherwise ignored, never thrown. Stateless apart from the
/// environment: any thread may call any member at any time; sends are single datagrams, so
/// concurrent calls do not interleave.
class SystemdNotifier {
 public:
  /// True when NOTIFY_SOCKET is set, i.e. notifications go somewhere.
  bool enabled() const noexcept;

  /// READY=1: start-up is complete (HTTP endpoint bound, pipelines started). systemd holds
  /// `systemctl start` and units ordered after modsync until this is sent.
  void ready() const noexcept;
  /// STATUS=<text>: one line for `systemctl status`; newlines are replaced by spaces.
  void status(std::string_view text) const noexcept;
  /// STOPPING=1: shutdown has begun (flushing Kafka, writing checkpoints).
  void stopping() const noexcept;
  /// RELOADING=1: a configuration reload (SIGHUP) has begun; send ready() when it is done.
  void reloading() const noexcept;
  /// WATCHDOG=1: the daemon is alive. Send at half of watchdog_interval() from a thread that
  /// stops pinging when the daemon is stuck (e.g. the supervisor loop), not from a free-running
  /// timer.
  void watchdog() const noexcept;

  /// WatchdogSec= of the unit when systemd expects pings from this process (sd_watchdog_enabled),
  /// else nullopt.
  std::optional<std::chrono::microseconds> watchdog_interval() const noexcept;

 private:
  void send(const char* state) const noexcept;
};

}  // namespace modsync::observability
