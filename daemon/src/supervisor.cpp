#include "supervisor.hpp"

#include <deque>

#include <spdlog/spdlog.h>

#include "modsync/common/error.hpp"
#include "modsync/observability/logging.hpp"
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
               const std::function<void(const std::string&, bool)>& report,
               const std::function<std::vector<std::pair<std::string, std::string>>()>& fields) {
  RetryBackoff backoff;
  std::string last_error;
  int repeats = 0;
  // The error carries its own context (source, slot, table, topic) and the thread's log fields
  // name the pair and pipeline, so the line is `<label> <failed|retrying>: <error>`, with no
  // second prefix. The same error again is one shorter line that still names it.
  auto log = [&](const std::string& error, bool retriable, std::chrono::milliseconds delay) {
    std::deque<observability::ScopedLogContext> context;
    if (fields) {
      for (auto& [name, value] : fields()) context.emplace_back(std::move(name), std::move(value));
    }
    const char* state = retriable ? "retrying" : "failed";
    const char* kind = retriable ? "transient" : "needs attention";
    if (error == last_error) {
      ++repeats;
      spdlog::warn("{} still {} (attempt {}, same error; next attempt in {} ms): {}", label, state,
                   repeats + 1, delay.count(), error);
      return;
    }
    last_error = error;
    repeats = 0;
    spdlog::error("{} {} ({}; next attempt in {} ms): {}", label, state, kind, delay.count(),
                  error);
  };
  while (!stop.flag()) {
    const auto started = std::chrono::steady_clock::now();
    std::string error;
    bool retriable = false;
    try {
      run_once();
      return;
    } catch (const Error& e) {
      report(e.what(), e.retriable());
      error = e.what();
      retriable = e.retriable();
    } catch (const std::exception& e) {
      report(e.what(), false);
      error = fmt::format("unexpected error: {}", e.what());
    }
    const auto delay = backoff.after_failure(std::chrono::steady_clock::now() - started);
    log(error, retriable, delay);
    stop.sleep_for(delay);
  }
}

}  // namespace modsync::daemon
