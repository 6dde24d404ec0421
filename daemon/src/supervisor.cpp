#include "supervisor.hpp"

#include <spdlog/spdlog.h>

#include "modsync/common/error.hpp"

namespace modsync::daemon {

void StopSignal::request() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  flag_.store(true);
  cv_.notify_all();
}

void StopSignal::sleep_for(std::chrono::milliseconds d) {
  std::unique_lock lock(mutex_);
  cv_.wait_for(lock, d, [this] { return stop_; });
}

void supervise(const std::string& label, StopSignal& stop, const std::function<void()>& run_once,
               const std::function<void(const std::string&, bool)>& report) {
  auto backoff = std::chrono::milliseconds(500);
  constexpr auto kMaxBackoff = std::chrono::milliseconds(30000);
  std::string last_error;
  int repeats = 0;
  // The same error again is one line that counts, not the whole message once more.
  auto log = [&](const std::string& error, const char* kind) {
    if (error == last_error) {
      ++repeats;
      spdlog::warn("{}: still failing with the same error (attempt {}; retrying in {} ms)", label,
                   repeats + 1, backoff.count());
      return;
    }
    last_error = error;
    repeats = 0;
    spdlog::error("{}: {} ({}; retrying in {} ms)", label, error, kind, backoff.count());
  };
  while (!stop.flag()) {
    try {
      run_once();
      return;
    } catch (const Error& e) {
      report(e.what(), e.retriable());
      log(e.what(), e.retriable() ? "transient" : "needs attention");
    } catch (const std::exception& e) {
      report(e.what(), false);
      log(fmt::format("unexpected error: {}", e.what()), "needs attention");
    }
    stop.sleep_for(backoff);
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

}  // namespace modsync::daemon
