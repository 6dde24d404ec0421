#include "supervisor.hpp"

#include <spdlog/spdlog.h>

#include "modsync/common/error.hpp"
#include "retry_backoff.hpp"

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
  RetryBackoff backoff;
  std::string last_error;
  int repeats = 0;
  // The same error again is one line that counts, not the whole message once more.
  auto log = [&](const std::string& error, const char* kind, std::chrono::milliseconds delay) {
    if (error == last_error) {
      ++repeats;
      spdlog::warn("{}: still failing with the same error (attempt {}; retrying in {} ms)", label,
                   repeats + 1, delay.count());
      return;
    }
    last_error = error;
    repeats = 0;
    spdlog::error("{}: {} ({}; retrying in {} ms)", label, error, kind, delay.count());
  };
  while (!stop.flag()) {
    const auto started = std::chrono::steady_clock::now();
    std::string error;
    const char* kind = "needs attention";
    try {
      run_once();
      return;
    } catch (const Error& e) {
      report(e.what(), e.retriable());
      error = e.what();
      if (e.retriable()) kind = "transient";
    } catch (const std::exception& e) {
      report(e.what(), false);
      error = fmt::format("unexpected error: {}", e.what());
    }
    const auto delay = backoff.after_failure(std::chrono::steady_clock::now() - started);
    log(error, kind, delay);
    stop.sleep_for(delay);
  }
}

}  // namespace modsync::daemon
