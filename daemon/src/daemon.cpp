#include "daemon.hpp"

#include <deque>
#include <map>
#include <thread>

#include <spdlog/spdlog.h>

#include "modsync/apply/apply_lag_probe.hpp"
#include "modsync/apply/apply_pipeline.hpp"
#include "modsync/apply/apply_probe.hpp"
#include "modsync/apply/fetch_stall_watch.hpp"
#include "modsync/capture/capture_pipeline.hpp"
#include "modsync/capture/capture_probe.hpp"
#include "modsync/capture/delivery_stall_watch.hpp"
#include "modsync/capture/slot_monitor.hpp"
#include "modsync/checkpoint/checkpoint_store.hpp"
#include "modsync/common/error.hpp"
#include "modsync/pgsource/source_catalog.hpp"
#include "modsync/common/lsn.hpp"
#include "modsync/config/config_error.hpp"
#include "modsync/config/dsn.hpp"
#include "modsync/observability/logging.hpp"
#include "modsync/observability/recovery_watch.hpp"
#include "modsync/pg/pg_connection.hpp"
#include "supervisor.hpp"

namespace modsync::daemon {

/// One module pair's live state. Owned by Daemon; stable address while it runs.
struct PairRuntime {
  config::PairConfig pair;
  std::string fingerprint;
  std::unique_ptr<checkpoint::CheckpointStore> store;
  capture::CaptureStats capture;
  std::deque<apply::ApplyStats> projections;
  /// What /metrics, /readyz and /status show of the pipelines; set when the pair starts.
  std::optional<capture::CaptureProbe> capture_probe;
  std::deque<apply::ApplyProbe> apply_probes;  ///< one per projection
  StopSignal stop;
  std::vector<std::thread> threads;  ///< pipelines, the monitor, the lag probes
};

namespace {

void run_capture(PairRuntime& rt) {
  const auto& pair = rt.pair;
  observability::ScopedLogContext ctx("pair", pair.daemon.id);
  observability::ScopedLogContext module("module", pair.source->module);
  observability::ScopedLogContext slot("slot", pair.source->slot);
  supervise(
      "capture", rt.stop,
      [&] {
        capture::CapturePipeline pipeline(pair, *rt.store, rt.capture);
        pipeline.run(rt.stop.flag());
        rt.capture.state = capture::CaptureStats::State::kStopped;
      },
      [&](const std::string& error, bool retriable) {
        rt.capture.retries.fetch_add(1);
        rt.capture.state = retriable ? capture::CaptureStats::State::kRetrying
                                     : capture::CaptureStats::State::kFailed;
        rt.capture.set_error(error);
      },
      [&] {
        return std::vector<std::pair<std::string, std::string>>{
            {"lsn", Lsn(rt.capture_probe->positions().confirmed).to_string()}};
      });
}

void run_projection(PairRuntime& rt, size_t index) {
  const auto& pair = rt.pair;
  const auto& projection = pair.sink->projections[index];
  auto& stats = rt.projections[index];
  observability::ScopedLogContext ctx("pair", pair.daemon.id);
  observability::ScopedLogContext module("module", pair.sink->module);
  observability::ScopedLogContext table("table", projection.to.qualified());
  observability::ScopedLogContext topic("topic", config::projection_topic(pair, projection));
  supervise(
      "apply", rt.stop,
      [&] {
        apply::ApplyPipeline pipeline(pair, projection, *rt.store, stats);
        pipeline.run(rt.stop.flag());
        stats.state = apply::ApplyStats::State::kStopped;
      },
      [&](const std::string& error, bool retriable) {
        stats.retries.fetch_add(1);
        if (stats.state != apply::ApplyStats::State::kPaused) {
          stats.state =
              retriable ? apply::ApplyStats::State::kRetrying : apply::ApplyStats::State::kFailed;
        }
        stats.set_error(error);
      });
}

/// The pair's monitor thread: what the pipelines cannot tell about themselves while they fail.
/// Every second: stall and recovery checks; every 5 s the slot. Nothing here waits on Kafka.
void run_monitor(PairRuntime& rt) {
  using Clock = std::chrono::steady_clock;
  const auto& pair = rt.pair;
  observability::ScopedLogContext ctx("pair", pair.daemon.id);
  std::optional<capture::SlotMonitor> slot_monitor;
  if (pair.source) slot_monitor.emplace(pair, rt.capture);
  observability::RecoveryWatch capture_recovery;
  capture::DeliveryStallWatch delivery_stall;
  std::vector<observability::RecoveryWatch> apply_recovery(rt.projections.size());
  std::vector<apply::FetchStallWatch> fetch_stall(rt.projections.size());
  Clock::time_point last_slot_poll{};
  while (!rt.stop.flag()) {
    if (slot_monitor) {
      observability::ScopedLogContext module("module", pair.source->module);
      observability::ScopedLogContext slot("slot", pair.source->slot);
      // Where the capture stands: the confirmed LSN it resumes from.
      observability::ScopedLogContext lsn("lsn",
                                          Lsn(rt.capture_probe->positions().confirmed).to_string());
      if (Clock::now() - last_slot_poll >= std::chrono::seconds(5)) {
        slot_monitor->poll();
        last_slot_poll = Clock::now();
      }
      delivery_stall.look(pair, *rt.capture_probe);
      const auto state = rt.capture.state.load();
      capture_recovery.look("capture",
                            state == capture::CaptureStats::State::kStreaming ||
                                state == capture::CaptureStats::State::kSnapshotting,
                            rt.capture);
    }
    for (size_t i = 0; i < rt.projections.size(); ++i) {
      const auto& projection = pair.sink->projections[i];
      const std::string topic = config::projection_topic(pair, projection);
      observability::ScopedLogContext module("module", pair.sink->module);
      observability::ScopedLogContext table("table", projection.to.qualified());
      observability::ScopedLogContext topic_field("topic", topic);
      fetch_stall[i].look(pair, topic, rt.apply_probes[i]);
      apply_recovery[i].look("apply",
                             rt.projections[i].state.load() == apply::ApplyStats::State::kApplying,
                             rt.projections[i]);
    }
    rt.stop.sleep_for(std::chrono::seconds(1));
  }
}

/// The pair's lag probes, every second, on a thread of their own: a broker that stopped
/// answering blocks a probe for up to librdkafka's request timeout.
void run_lag_probes(PairRuntime& rt) {
  observability::ScopedLogContext ctx("pair", rt.pair.daemon.id);
  std::deque<apply::ApplyLagProbe> probes;
  for (size_t i = 0; i < rt.projections.size(); ++i) {
    probes.emplace_back(rt.pair, rt.pair.sink->projections[i], rt.projections[i]);
  }
  while (!rt.stop.flag()) {
    for (size_t i = 0; i < probes.size() && !rt.stop.flag(); ++i) probes[i].poll();
    rt.stop.sleep_for(std::chrono::seconds(1));
  }
}

/// True while the slot exists in the source database (one short query); nullopt when the
/// source cannot be asked.
std::optional<bool> slot_exists(const config::EffectiveDsn& dsn, const std::string& slot) {
  try {
    auto conn = pg::PgConnection::connect(dsn, pg::PgConnection::Mode::kRegular, "leftover check");
    return pgsource::SourceCatalog(conn).slot(slot).has_value();
  } catch (const Error&) {
    return std::nullopt;
  }
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

Daemon::Daemon(std::filesystem::path config_path, config::LogConfig log)
    : config_path_(std::move(config_path)), log_(log) {}

Daemon::~Daemon() {
  stop();
}

void Daemon::start_pair(config::PairConfig pair) {
  auto rt = std::make_unique<PairRuntime>();
  rt->pair = std::move(pair);
  rt->fingerprint = fingerprint(rt->pair);
  // Each pair's sessions (walsender, snapshot, sink) name it in pg_stat_activity and
  // pg_stat_replication; an application_name in the DSN wins.
  const std::string application_name = "modsync-" + rt->pair.daemon.id;
  if (rt->pair.source) {
    auto& dsn = rt->pair.source->effective_dsn.dsn;
    dsn = config::dsn_with_parameter(dsn, "fallback_application_name", application_name);
  }
  if (rt->pair.sink) {
    auto& dsn = rt->pair.sink->effective_dsn.dsn;
    dsn = config::dsn_with_parameter(dsn, "fallback_application_name", application_name);
  }
  const auto& memory = rt->pair.daemon.memory;
  rt->store = std::make_unique<checkpoint::CheckpointStore>(
      rt->pair.daemon.state_dir, rt->pair.daemon.id,
      checkpoint::CheckpointStoreOptions{memory.checkpoint_write_buffer,
                                         memory.checkpoint_block_cache});
  if (rt->pair.sink) rt->projections.resize(rt->pair.sink->projections.size());
  const int64_t stall_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(rt->pair.kafka.stall_timeout).count();
  rt->capture.stall_threshold_ms = stall_ms;
  for (auto& p : rt->projections) p.stall_threshold_ms = stall_ms;
  if (rt->pair.source) {
    // Positions from the last run until this one streams: /status and the lag metrics are
    // meaningful even when the capture cannot start (a lost slot).
    if (const auto saved = rt->store->load_source()) {
      rt->capture.confirmed_lsn = saved->confirmed.value();
      rt->capture.received_lsn = saved->confirmed.value();
    }
    std::lock_guard lock(mutex_);
    std::erase_if(leftovers_,
                  [&](const LeftoverSlot& l) { return l.slot == rt->pair.source->slot; });
  }
  PairRuntime& r = *rt;
  if (r.pair.source) {
    r.capture_probe.emplace(r.pair.daemon.id, r.pair.source->module, r.capture);
    r.capture_probe->setup_metrics(registry_);
  }
  for (size_t i = 0; i < r.projections.size(); ++i) {
    r.apply_probes.emplace_back(r.pair.daemon.id, r.pair.sink->projections[i].to.qualified(),
                                r.projections[i]);
    r.apply_probes.back().setup_metrics(registry_);
  }
  {
    std::lock_guard lock(mutex_);
    pairs_.push_back(std::move(rt));
  }
  if (r.pair.source) r.threads.emplace_back([&r] { run_capture(r); });
  for (size_t i = 0; i < r.projections.size(); ++i) {
    r.threads.emplace_back([&r, i] { run_projection(r, i); });
  }
  r.threads.emplace_back([&r] { run_monitor(r); });
  if (!r.projections.empty()) r.threads.emplace_back([&r] { run_lag_probes(r); });
  spdlog::info("pair {} started ({}{} projection(s))", r.pair.daemon.id,
               r.pair.source ? "capture, " : "", r.projections.size());
}

void Daemon::stop_pair(PairRuntime& rt) {
  rt.stop.request();
  for (auto& t : rt.threads) t.join();
  rt.threads.clear();
  // The probes stay (/readyz and /status read them until the pair is erased); their series go.
  if (rt.capture_probe) rt.capture_probe->remove_metrics();
  for (auto& probe : rt.apply_probes) probe.remove_metrics();
  spdlog::info("pair {} stopped", rt.pair.daemon.id);
}

void Daemon::start(std::vector<config::PairConfig> pairs) {
  registry_.add_collector([this](observability::MetricsWriter& w) {
    std::lock_guard lock(mutex_);
    w.gauge("modsync_leftover_slots",
            "Replication slots of pairs removed by a reload that still exist: each holds WAL "
            "on its source until dropped (modsync slots drop).",
            {}, static_cast<uint64_t>(leftovers_.size()));
  });
  start_http(pairs);
  for (auto& pair : pairs) start_pair(std::move(pair));
  housekeeper_ = std::thread([this] { check_leftovers(); });
}

void Daemon::check_leftovers() {
  while (!housekeeping_stop_.flag()) {
    housekeeping_stop_.sleep_for(std::chrono::seconds(10));
    std::vector<LeftoverSlot> check;
    {
      std::lock_guard lock(mutex_);
      check = leftovers_;
    }
    for (const auto& l : check) {
      if (housekeeping_stop_.flag()) return;
      if (slot_exists(l.dsn, l.slot) != false) continue;
      spdlog::info("the replication slot {} of removed pair {} is gone; nothing is left over",
                   l.slot, l.pair);
      std::lock_guard lock(mutex_);
      std::erase_if(leftovers_, [&](const LeftoverSlot& x) { return x.slot == l.slot; });
    }
  }
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
    spdlog::error(
        "SIGHUP: the new configuration is invalid; the running pairs continue "
        "unchanged. {}",
        e.what());
    return;
  }
  if (!loaded.empty()) {
    const auto& log = loaded.front().daemon.log;
    if (log.level != log_.level || log.format != log_.format) {
      observability::reconfigure_logging(log.format, log.level);
      log_ = log;
      spdlog::info("SIGHUP: logging now at level {} as {}", config::to_string(log.level),
                   config::to_string(log.format));
    }
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
    const config::SourceConfig* now = changed && w->second->source ? &*w->second->source : nullptr;
    if (rt.pair.source && (!now || now->slot != rt.pair.source->slot)) {
      const auto& src = *rt.pair.source;
      // `slots drop` takes modsync_* slots of the databases the config still captures from.
      bool still_captured = false;
      for (const auto& p : loaded) still_captured |= p.source && p.source->dsn == src.dsn;
      const std::string fix =
          still_captured
              ? fmt::format("modsync slots drop --config {} {}", config_path_.string(), src.slot)
              : fmt::format(
                    "SELECT pg_drop_replication_slot('{}'); in the source "
                    "database of module {}",
                    src.slot, src.module);
      spdlog::warn(
          "SIGHUP: pair {} {}, but its replication slot {} stays on source {} and holds WAL there "
          "until dropped. Fix: if nothing else will use it, {} (docs/runbook.md, \"Removing a "
          "pair\")",
          rt.pair.daemon.id, now ? "now uses slot " + now->slot : std::string("was removed"),
          src.slot, src.module, fix);
      std::lock_guard lock(mutex_);
      leftovers_.push_back({rt.pair.daemon.id, src.slot, src.effective_dsn});
    }
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
  spdlog::info(
      "SIGHUP: configuration reloaded from {}: {} pair(s) started, {} restarted, {} "
      "stopped, {} unchanged",
      config_path_.string(), started, restarted, stopped, pairs_.size() - started - restarted);
}

void Daemon::stop() {
  housekeeping_stop_.request();
  if (housekeeper_.joinable()) housekeeper_.join();
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
    if (rt->capture_probe) {
      if (auto r = rt->capture_probe->not_ready_reason()) reasons += *r + "\n";
    }
    for (const auto& probe : rt->apply_probes) {
      if (auto r = probe.not_ready_reason()) reasons += *r + "\n";
    }
  }
  return {reasons.empty(), reasons};
}

std::string Daemon::status_json() const {
  std::lock_guard lock(mutex_);
  std::string out = "{\"pairs\":[";
  bool first = true;
  for (const auto& rt : pairs_) {
    if (rt->capture_probe) {
      out += first ? "" : ",";
      first = false;
      out += rt->capture_probe->status_json();
    }
    for (const auto& probe : rt->apply_probes) {
      out += first ? "" : ",";
      first = false;
      out += probe.status_json();
    }
  }
  return out + "]}";
}

std::string Daemon::summary() const {
  std::lock_guard lock(mutex_);
  size_t pipelines = 0, running = 0;
  for (const auto& rt : pairs_) {
    if (rt->capture_probe) {
      ++pipelines;
      running += rt->capture_probe->not_ready_reason() ? 0 : 1;
    }
    for (const auto& probe : rt->apply_probes) {
      ++pipelines;
      running += probe.not_ready_reason() ? 0 : 1;
    }
  }
  return fmt::format("{} of {} pipelines running", running, pipelines);
}

}  // namespace modsync::daemon
