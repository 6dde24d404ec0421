#include "daemon.hpp"

#include <deque>
#include <map>
#include <thread>

#include <spdlog/spdlog.h>

#include "modsync/apply/apply_pipeline.hpp"
#include "modsync/capture/capture_pipeline.hpp"
#include "modsync/checkpoint/checkpoint_store.hpp"
#include "modsync/common/error.hpp"
#include "modsync/config/config_error.hpp"
#include "modsync/observability/apply_metrics.hpp"
#include "modsync/observability/capture_metrics.hpp"
#include "modsync/observability/logging.hpp"
#include "supervisor.hpp"

namespace modsync::daemon {

/// One module pair's live state. Owned by Daemon; stable address while it runs.
struct PairRuntime {
  config::PairConfig pair;
  std::string fingerprint;
  std::unique_ptr<checkpoint::CheckpointStore> store;
  capture::CaptureStats capture;
  std::deque<apply::ApplyStats> projections;
  StopSignal stop;
  std::vector<std::thread> threads;
  std::vector<observability::MetricsRegistry::CollectorId> collectors;
};

namespace {

void run_capture(PairRuntime& rt) {
  const auto& pair = rt.pair;
  observability::ScopedLogContext ctx("pair", pair.daemon.id);
  supervise(
      fmt::format("pair {} source {}", pair.daemon.id, pair.source->module), rt.stop,
      [&] {
        capture::CapturePipeline pipeline(pair, *rt.store, rt.capture);
        pipeline.run(rt.stop.flag());
        rt.capture.state = capture::CaptureStats::State::kStopped;
      },
      [&](const std::string& error, bool retriable) {
        rt.capture.set_error(error);
        rt.capture.retries.fetch_add(1);
        rt.capture.state = retriable ? capture::CaptureStats::State::kRetrying
                                     : capture::CaptureStats::State::kFailed;
      });
}

void run_projection(PairRuntime& rt, size_t index) {
  const auto& pair = rt.pair;
  const auto& projection = pair.sink->projections[index];
  auto& stats = rt.projections[index];
  observability::ScopedLogContext ctx("pair", pair.daemon.id);
  supervise(
      fmt::format("pair {} projection {}", pair.daemon.id, projection.to.qualified()), rt.stop,
      [&] {
        apply::ApplyPipeline pipeline(pair, projection, *rt.store, stats);
        pipeline.run(rt.stop.flag());
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

}  // namespace

std::string fingerprint(const config::PairConfig& pair) {
  std::string f = config::describe(pair);
  // A rotated password_file restarts the pair too.
  const auto add = [&f](const config::EffectiveDsn& d) { f += "\n" + d.dsn + "\n" + d.password; };
  if (pair.source) add(pair.source->effective_dsn);
  if (pair.sink) add(pair.sink->effective_dsn);
  for (const auto& [k, v] : pair.kafka.properties) f += "\n" + k + "=" + v;
  return f;
}

Daemon::Daemon(std::filesystem::path config_path) : config_path_(std::move(config_path)) {}

Daemon::~Daemon() { stop(); }

void Daemon::start_pair(config::PairConfig pair) {
  auto rt = std::make_unique<PairRuntime>();
  rt->pair = std::move(pair);
  rt->fingerprint = fingerprint(rt->pair);
  rt->store = std::make_unique<checkpoint::CheckpointStore>(rt->pair.daemon.state_dir,
                                                            rt->pair.daemon.id);
  if (rt->pair.sink) rt->projections.resize(rt->pair.sink->projections.size());
  PairRuntime& r = *rt;
  if (r.pair.source) {
    r.collectors.push_back(registry_.add_collector([&r](observability::MetricsWriter& w) {
      observability::write_capture_metrics(w, r.pair.daemon.id, r.pair.source->module, r.capture);
    }));
  }
  for (size_t i = 0; i < r.projections.size(); ++i) {
    r.collectors.push_back(registry_.add_collector([&r, i](observability::MetricsWriter& w) {
      observability::write_apply_metrics(w, r.pair.daemon.id,
                                         r.pair.sink->projections[i].to.qualified(),
                                         r.projections[i]);
    }));
  }
  {
    std::lock_guard lock(mutex_);
    pairs_.push_back(std::move(rt));
  }
  if (r.pair.source) r.threads.emplace_back([&r] { run_capture(r); });
  for (size_t i = 0; i < r.projections.size(); ++i) {
    r.threads.emplace_back([&r, i] { run_projection(r, i); });
  }
  spdlog::info("pair {} started ({}{} projection(s))", r.pair.daemon.id,
               r.pair.source ? "capture, " : "", r.projections.size());
}

void Daemon::stop_pair(PairRuntime& rt) {
  rt.stop.request();
  for (auto& t : rt.threads) t.join();
  rt.threads.clear();
  for (auto id : rt.collectors) registry_.remove_collector(id);
  rt.collectors.clear();
  spdlog::info("pair {} stopped", rt.pair.daemon.id);
}

void Daemon::start(std::vector<config::PairConfig> pairs) {
  start_http(pairs);
  for (auto& pair : pairs) start_pair(std::move(pair));
}

void Daemon::start_http(const std::vector<config::PairConfig>& pairs) {
  for (const auto& pair : pairs) {
    const auto& l = pair.daemon.http_listen;
    if (l.empty()) continue;
    if (http_listen_.empty()) {
      http_listen_ = l;
    } else if (l != http_listen_) {
      spdlog::warn("pair {}: daemon.http.listen {} ignored: the process already serves {}",
                   pair.daemon.id, l, http_listen_);
    }
  }
  if (http_listen_.empty()) return;
  http_.emplace(http_listen_, observability::HttpHandlers{
                                  .metrics = [this] { return registry_.render(); },
                                  .readiness = [this] { return readiness(); },
                                  .status = [this] { return status_json(); },
                              });
  http_->start();
  spdlog::info("HTTP endpoint on {} (/metrics /healthz /readyz /status)", http_listen_);
}

void Daemon::reload() {
  std::vector<config::PairConfig> loaded;
  try {
    loaded = config::load_path(config_path_);
  } catch (const Error& e) {
    spdlog::error("SIGHUP: the new configuration is invalid; the running pairs continue "
                  "unchanged. {}",
                  e.what());
    return;
  }
  std::map<std::string, config::PairConfig*> wanted;
  for (auto& p : loaded) wanted[p.daemon.id] = &p;
  size_t stopped = 0, restarted = 0, started = 0;
  for (auto it = pairs_.begin(); it != pairs_.end();) {
    PairRuntime& rt = **it;
    auto w = wanted.find(rt.pair.daemon.id);
    const bool keep = w != wanted.end() && fingerprint(*w->second) == rt.fingerprint;
    if (keep) {
      wanted.erase(w);
      ++it;
      continue;
    }
    stop_pair(rt);
    const bool changed = w != wanted.end();
    changed ? ++restarted : ++stopped;
    std::lock_guard lock(mutex_);
    it = pairs_.erase(it);
  }
  for (auto& [id, pair] : wanted) {
    try {
      start_pair(std::move(*pair));
      ++started;
    } catch (const Error& e) {
      spdlog::error("SIGHUP: pair {} cannot start: {}", id, e.what());
    }
  }
  started -= std::min(started, restarted);
  spdlog::info("SIGHUP: configuration reloaded from {}: {} pair(s) started, {} restarted, {} "
               "stopped, {} unchanged",
               config_path_.string(), started, restarted, stopped,
               pairs_.size() - started - restarted);
}

void Daemon::stop() {
  for (auto& rt : pairs_) rt->stop.request();
  for (auto& rt : pairs_) stop_pair(*rt);
  {
    std::lock_guard lock(mutex_);
    pairs_.clear();
  }
  if (http_) http_->stop();
  http_.reset();
}

observability::Readiness Daemon::readiness() const {
  std::lock_guard lock(mutex_);
  std::string reasons;
  for (const auto& rt : pairs_) {
    const std::string& id = rt->pair.daemon.id;
    if (rt->pair.source) {
      if (auto r = observability::capture_not_ready_reason(id, rt->capture)) reasons += *r + "\n";
    }
    for (size_t i = 0; i < rt->projections.size(); ++i) {
      if (auto r = observability::apply_not_ready_reason(
              id, rt->pair.sink->projections[i].to.qualified(), rt->projections[i])) {
        reasons += *r + "\n";
      }
    }
  }
  return {reasons.empty(), reasons};
}

std::string Daemon::status_json() const {
  std::lock_guard lock(mutex_);
  std::string out = "{\"pairs\":[";
  bool first = true;
  for (const auto& rt : pairs_) {
    const std::string& id = rt->pair.daemon.id;
    if (rt->pair.source) {
      out += first ? "" : ",";
      first = false;
      out += observability::capture_status_json(id, rt->pair.source->module, rt->capture);
    }
    for (size_t i = 0; i < rt->projections.size(); ++i) {
      out += first ? "" : ",";
      first = false;
      out += observability::apply_status_json(id, rt->pair.sink->projections[i].to.qualified(),
                                              rt->projections[i]);
    }
  }
  return out + "]}";
}

std::string Daemon::summary() const {
  std::lock_guard lock(mutex_);
  size_t pipelines = 0, running = 0;
  for (const auto& rt : pairs_) {
    if (rt->pair.source) {
      ++pipelines;
      running += observability::capture_not_ready_reason("", rt->capture) ? 0 : 1;
    }
    for (const auto& p : rt->projections) {
      ++pipelines;
      running += observability::apply_not_ready_reason("", "", p) ? 0 : 1;
    }
  }
  return fmt::format("{} of {} pipelines running", running, pipelines);
}

}  // namespace modsync::daemon
