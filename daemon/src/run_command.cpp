#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <spdlog/spdlog.h>

#include "commands.hpp"
#include "daemon.hpp"
#include "modsync/common/error.hpp"
#include "modsync/config/config.hpp"
#include "modsync/config/config_error.hpp"
#include "modsync/event/version.hpp"
#include "modsync/observability/logging.hpp"
#include "modsync/observability/systemd_notifier.hpp"

namespace modsync::daemon {

sigset_t block_daemon_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

int run_command(const std::string& config_path) {
  // Signals are taken by sigtimedwait() on this thread; every other thread blocks them.
  const sigset_t signals = block_daemon_signals();

  std::vector<config::PairConfig> pairs;
  try {
    pairs = config::load_path(config_path);
  } catch (const config::ConfigError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
  const config::LogConfig log = pairs.empty() ? config::LogConfig{} : pairs.front().daemon.log;
  observability::configure_logging(log.format, log.level);
  // libpq otherwise waits for the OS TCP timeout (minutes) on an unreachable host, and the
  // pairs' monitors would stop reporting for that long; a connect_timeout in a DSN, or this
  // variable set by the caller, wins. Set before any thread starts (setenv is not thread-safe).
  ::setenv("PGCONNECT_TIMEOUT", "10", 0);
  spdlog::info("modsync {} starting with {} pair(s) from {}", event::kModsyncVersion, pairs.size(),
               config_path);

  Daemon daemon(config_path, log);
  try {
    daemon.start(std::move(pairs));
  } catch (const Error& e) {
    spdlog::error("{}", e.what());
    return 1;
  }

  observability::SystemdNotifier notifier;
  notifier.ready();
  // Wake at least every second: watchdog pings at half the interval systemd asked for, and a
  // fresh STATUS= line.
  auto tick = std::chrono::milliseconds(1000);
  if (auto wd = notifier.watchdog_interval()) {
    tick = std::min(tick, std::chrono::duration_cast<std::chrono::milliseconds>(*wd / 2));
  }
  const timespec timeout{static_cast<time_t>(tick.count() / 1000),
                         static_cast<long>((tick.count() % 1000) * 1000000)};
  std::string last_status;
  for (;;) {
    const int sig = sigtimedwait(&signals, nullptr, &timeout);
    notifier.watchdog();
    if (sig < 0) {
      std::string summary = daemon.summary();
      if (summary != last_status) {
        notifier.status(summary);
        last_status = std::move(summary);
      }
      continue;
    }
    if (sig == SIGHUP) {
      notifier.reloading();
      daemon.reload();
      notifier.ready();
      continue;
    }
    spdlog::info("{}: stopping (flushing Kafka, writing checkpoints)",
                 sig == SIGTERM ? "SIGTERM" : "SIGINT");
    break;
  }
  notifier.stopping();
  daemon.stop();
  spdlog::info("modsync stopped");
  return 0;
}

int validate_command(const std::string& config_path) {
  try {
    auto pairs = config::load_path(config_path);
    for (const auto& pair : pairs) std::printf("%s\n", config::describe(pair).c_str());
    std::printf("%s: %zu pair(s), valid\n", config_path.c_str(), pairs.size());
    return 0;
  } catch (const config::ConfigError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
}

}  // namespace modsync::daemon
