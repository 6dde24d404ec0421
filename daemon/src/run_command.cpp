#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "commands.hpp"
#include "modsync/capture/capture_pipeline.hpp"
#include "modsync/checkpoint/checkpoint_store.hpp"
#include "modsync/common/error.hpp"
#include "modsync/config/config.hpp"
#include "modsync/config/config_error.hpp"

namespace modsync::daemon {

namespace {

/// Sleeps up to `d`, waking early when `stop` is set.
class StopSignal {
 public:
  void request() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    flag_.store(true);
    cv_.notify_all();
  }
  const std::atomic<bool>& flag() const { return flag_; }
  void sleep_for(std::chrono::milliseconds d) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, d, [this] { return stop_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::atomic<bool> flag_{false};
};

/// Runs one pair's capture until stopped, restarting it with backoff after any failure: a
/// failed run resumes from its checkpoints, so retrying never loses or reorders events.
void supervise_capture(const config::PairConfig& pair, StopSignal& stop) {
  capture::CaptureStats stats;
  std::unique_ptr<checkpoint::CheckpointStore> store;
  auto backoff = std::chrono::milliseconds(500);
  constexpr auto kMaxBackoff = std::chrono::milliseconds(30000);
  while (!stop.flag()) {
    try {
      if (!store) {
        store = std::make_unique<checkpoint::CheckpointStore>(pair.daemon.state_dir, pair.daemon.id);
      }
      capture::CapturePipeline pipeline(pair, *store, stats);
      pipeline.run(stop.flag());
      stats.state = capture::CaptureStats::State::kStopped;
      return;
    } catch (const Error& e) {
      stats.set_error(e.what());
      stats.retries.fetch_add(1);
      stats.state = e.retriable() ? capture::CaptureStats::State::kRetrying
                                  : capture::CaptureStats::State::kFailed;
      spdlog::error("pair {}: {} ({}; retrying in {} ms)", pair.daemon.id, e.what(),
                    e.retriable() ? "transient" : "needs attention", backoff.count());
    } catch (const std::exception& e) {
      stats.set_error(e.what());
      stats.state = capture::CaptureStats::State::kFailed;
      spdlog::error("pair {}: unexpected error: {} (retrying in {} ms)", pair.daemon.id, e.what(),
                    backoff.count());
    }
    stop.sleep_for(backoff);
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

}  // namespace

int run_command(const std::string& config_path) {
  // Signals are taken by a dedicated sigwait() loop; every other thread blocks them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::vector<config::PairConfig> pairs;
  try {
    pairs = config::load_path(config_path);
  } catch (const config::ConfigError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
  spdlog::info("modsync starting with {} pair(s) from {}", pairs.size(), config_path);

  StopSignal stop;
  std::vector<std::thread> threads;
  for (const auto& pair : pairs) {
    if (pair.source) threads.emplace_back([&pair, &stop] { supervise_capture(pair, stop); });
  }
  for (;;) {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig == SIGHUP) {
      spdlog::info("SIGHUP: configuration reload is not supported yet; restart to apply changes");
      continue;
    }
    spdlog::info("{}: stopping (flushing Kafka, writing checkpoints)",
                 sig == SIGTERM ? "SIGTERM" : "SIGINT");
    break;
  }
  stop.request();
  for (auto& t : threads) t.join();
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
