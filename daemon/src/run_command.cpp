#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <deque>
#include <functional>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "commands.hpp"
#include "modsync/apply/apply_pipeline.hpp"
#include "modsync/capture/capture_pipeline.hpp"
#include "modsync/checkpoint/checkpoint_store.hpp"
#include "modsync/common/error.hpp"
#include "modsync/config/config.hpp"
#include "modsync/config/config_error.hpp"
#include "modsync/event/version.hpp"
#include "modsync/observability/apply_metrics.hpp"
#include "modsync/observability/capture_metrics.hpp"
#include "modsync/observability/http_server.hpp"
#include "modsync/observability/logging.hpp"
#include "modsync/observability/metrics.hpp"
#include "modsync/observability/systemd_notifier.hpp"

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

/// Runs `run_once` until it returns (a clean stop) or `stop` is set, restarting it with
/// exponential backoff after any failure: every pipeline resumes from its checkpoints, so a
/// retry never loses or reorders events. `report(error, retriable)` records each failure.
void supervise(const std::string& label, StopSignal& stop, const std::function<void()>& run_once,
               const std::function<void(const std::string&, bool)>& report) {
  auto backoff = std::chrono::milliseconds(500);
  constexpr auto kMaxBackoff = std::chrono::milliseconds(30000);
  while (!stop.flag()) {
    try {
      run_once();
      return;
    } catch (const Error& e) {
      report(e.what(), e.retriable());
      spdlog::error("{}: {} ({}; retrying in {} ms)", label, e.what(),
                    e.retriable() ? "transient" : "needs attention", backoff.count());
    } catch (const std::exception& e) {
      report(e.what(), false);
      spdlog::error("{}: unexpected error: {} (retrying in {} ms)", label, e.what(),
                    backoff.count());
    }
    stop.sleep_for(backoff);
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

/// The live state of one pair: its checkpoint store and the stats of its pipelines.
struct PairRuntime {
  const config::PairConfig* pair = nullptr;
  std::unique_ptr<checkpoint::CheckpointStore> store;
  capture::CaptureStats capture;
  std::deque<apply::ApplyStats> projections;
};

void run_capture(PairRuntime& rt, StopSignal& stop) {
  const auto& pair = *rt.pair;
  supervise(
      fmt::format("pair {} source {}", pair.daemon.id, pair.source->module), stop,
      [&] {
        capture::CapturePipeline pipeline(pair, *rt.store, rt.capture);
        pipeline.run(stop.flag());
        rt.capture.state = capture::CaptureStats::State::kStopped;
      },
      [&](const std::string& error, bool retriable) {
        rt.capture.set_error(error);
        rt.capture.retries.fetch_add(1);
        rt.capture.state = retriable ? capture::CaptureStats::State::kRetrying
                                     : capture::CaptureStats::State::kFailed;
      });
}

void run_projection(PairRuntime& rt, size_t index, StopSignal& stop) {
  const auto& pair = *rt.pair;
  const auto& projection = pair.sink->projections[index];
  auto& stats = rt.projections[index];
  supervise(
      fmt::format("pair {} projection {}", pair.daemon.id, projection.to.qualified()), stop,
      [&] {
        apply::ApplyPipeline pipeline(pair, projection, *rt.store, stats);
        pipeline.run(stop.flag());
        stats.state = apply::ApplyStats::State::kStopped;
      },
      [&](const std::string& error, bool retriable) {
        stats.set_error(error);
        stats.retries.fetch_add(1);
        if (stats.state != apply::ApplyStats::State::kPaused) {
          stats.state = retriable ? apply::ApplyStats::State::kRetrying
                                  : apply::ApplyStats::State::kFailed;
        }
      });
}

/// The HTTP endpoint and systemd notifications: what the process tells the outside.
class Reporter {
 public:
  Reporter(std::deque<PairRuntime>& runtimes) : runtimes_(runtimes) {
    for (auto& rt : runtimes_) {
      const auto& pair = *rt.pair;
      if (pair.source) {
        registry_.add_collector([&rt](observability::MetricsWriter& w) {
          observability::write_capture_metrics(w, rt.pair->daemon.id, rt.pair->source->module,
                                               rt.capture);
        });
      }
      for (size_t i = 0; i < rt.projections.size(); ++i) {
        registry_.add_collector([&rt, i](observability::MetricsWriter& w) {
          observability::write_apply_metrics(w, rt.pair->daemon.id,
                                             rt.pair->sink->projections[i].to.qualified(),
                                             rt.projections[i]);
        });
      }
    }
  }

  /// Starts the HTTP endpoint of the first pair that configures one (all pairs of a directory
  /// share the process, so one endpoint serves them all).
  void start_http() {
    std::string listen;
    for (const auto& rt : runtimes_) {
      const auto& l = rt.pair->daemon.http_listen;
      if (l.empty()) continue;
      if (listen.empty()) {
        listen = l;
      } else if (l != listen) {
        spdlog::warn("pair {}: daemon.http.listen {} ignored: the process already serves {}",
                     rt.pair->daemon.id, l, listen);
      }
    }
    if (listen.empty()) return;
    http_.emplace(listen, observability::HttpHandlers{
                              .metrics = [this] { return registry_.render(); },
                              .readiness = [this] { return readiness(); },
                              .status = [this] { return status_json(); },
                          });
    http_->start();
    spdlog::info("HTTP endpoint on {} (/metrics /healthz /readyz /status)", listen);
  }

  void stop_http() {
    if (http_) http_->stop();
  }

  observability::Readiness readiness() const {
    std::string reasons;
    for (const auto& rt : runtimes_) {
      if (rt.pair->source) {
        if (auto r = observability::capture_not_ready_reason(rt.pair->daemon.id, rt.capture)) {
          reasons += *r + "\n";
        }
      }
      for (size_t i = 0; i < rt.projections.size(); ++i) {
        if (auto r = observability::apply_not_ready_reason(
                rt.pair->daemon.id, rt.pair->sink->projections[i].to.qualified(),
                rt.projections[i])) {
          reasons += *r + "\n";
        }
      }
    }
    return {reasons.empty(), reasons};
  }

  std::string status_json() const {
    std::string out = "{\"pairs\":[";
    bool first = true;
    for (const auto& rt : runtimes_) {
      if (rt.pair->source) {
        out += first ? "" : ",";
        first = false;
        out += observability::capture_status_json(rt.pair->daemon.id, rt.pair->source->module,
                                                  rt.capture);
      }
      for (size_t i = 0; i < rt.projections.size(); ++i) {
        out += first ? "" : ",";
        first = false;
        out += observability::apply_status_json(
            rt.pair->daemon.id, rt.pair->sink->projections[i].to.qualified(), rt.projections[i]);
      }
    }
    return out + "]}";
  }

  /// A one-line summary for systemd's STATUS=.
  std::string summary() const {
    size_t pipelines = 0, ready = 0;
    for (const auto& rt : runtimes_) {
      if (rt.pair->source) {
        ++pipelines;
        ready += observability::capture_not_ready_reason("", rt.capture) ? 0 : 1;
      }
      for (const auto& p : rt.projections) {
        ++pipelines;
        ready += observability::apply_not_ready_reason("", "", p) ? 0 : 1;
      }
    }
    return fmt::format("{} of {} pipelines running", ready, pipelines);
  }

 private:
  std::deque<PairRuntime>& runtimes_;
  observability::MetricsRegistry registry_;
  std::optional<observability::HttpServer> http_;
};

}  // namespace

int run_command(const std::string& config_path) {
  // Signals are taken by sigtimedwait() on this thread; every other thread blocks them.
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
  if (!pairs.empty()) {
    observability::configure_logging(pairs.front().daemon.log.format,
                                     pairs.front().daemon.log.level);
  }
  spdlog::info("modsync {} starting with {} pair(s) from {}", event::kModsyncVersion, pairs.size(),
               config_path);

  StopSignal stop;
  std::deque<PairRuntime> runtimes;
  for (const auto& pair : pairs) {
    auto& rt = runtimes.emplace_back();
    rt.pair = &pair;
    try {
      rt.store = std::make_unique<checkpoint::CheckpointStore>(pair.daemon.state_dir, pair.daemon.id);
    } catch (const Error& e) {
      spdlog::error("pair {}: {}", pair.daemon.id, e.what());
      return 1;
    }
    if (pair.sink) rt.projections.resize(pair.sink->projections.size());
  }
  Reporter reporter(runtimes);
  try {
    reporter.start_http();
  } catch (const Error& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  std::vector<std::thread> threads;
  for (auto& rt : runtimes) {
    if (rt.pair->source) {
      threads.emplace_back([&rt, &stop] {
        observability::ScopedLogContext ctx("pair", rt.pair->daemon.id);
        run_capture(rt, stop);
      });
    }
    for (size_t i = 0; rt.pair->sink && i < rt.pair->sink->projections.size(); ++i) {
      threads.emplace_back([&rt, i, &stop] {
        observability::ScopedLogContext ctx("pair", rt.pair->daemon.id);
        run_projection(rt, i, stop);
      });
    }
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
      std::string summary = reporter.summary();
      if (summary != last_status) {
        notifier.status(summary);
        last_status = std::move(summary);
      }
      continue;
    }
    if (sig == SIGHUP) {
      spdlog::info("SIGHUP: configuration reload is not supported yet; restart to apply changes");
      continue;
    }
    spdlog::info("{}: stopping (flushing Kafka, writing checkpoints)",
                 sig == SIGTERM ? "SIGTERM" : "SIGINT");
    break;
  }
  notifier.stopping();
  stop.request();
  for (auto& t : threads) t.join();
  reporter.stop_http();
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
