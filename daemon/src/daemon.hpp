#pragma once

#include <filesystem>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "modsync/config/config.hpp"
#include "modsync/config/dsn.hpp"
#include "modsync/observability/http_server.hpp"
#include "modsync/observability/metrics.hpp"
#include "supervisor.hpp"

namespace modsync::daemon {

struct PairRuntime;

/// The running process: one isolated runtime per module pair (its checkpoint store, a capture
/// pipeline thread, one thread per projection), the HTTP endpoint and the metrics registry.
///
/// Threads: start(), reload() and stop() are called from the main (signal) thread only; the
/// HTTP handlers read the pairs under `mutex_`, so a reload never races a scrape.
class Daemon {
 public:
  /// `log` is what the process logs with now (configure_logging); a reload that changes it
  /// applies the new level and format.
  explicit Daemon(std::filesystem::path config_path, config::LogConfig log = {});
  ~Daemon();

  /// Starts every pair of `pairs` and the HTTP endpoint. Throws modsync::Error when a state
  /// dir or the HTTP address cannot be used.
  void start(std::vector<config::PairConfig> pairs);

  /// Loads the config again and applies the difference: pairs added are started, removed ones
  /// stopped, changed ones restarted; untouched pairs keep running. An invalid config is
  /// rejected with a log line and the running pairs are kept.
  void reload();

  /// Stops every pair (flush, checkpoints) and the HTTP endpoint.
  void stop();

  /// "N of M pipelines running", for systemd's STATUS=.
  std::string summary() const;

 private:
  void start_pair(config::PairConfig pair);
  void stop_pair(PairRuntime& rt);
  void start_http(const std::vector<config::PairConfig>& pairs);
  observability::Readiness readiness() const;
  std::string status_json() const;
  /// The housekeeping thread: forgets leftover slots once someone dropped them.
  void check_leftovers();

  /// The slot of a pair removed by a reload, still on its source.
  struct LeftoverSlot {
    std::string pair;
    std::string slot;
    config::EffectiveDsn dsn;  ///< holds the password: never print it
  };

  std::filesystem::path config_path_;
  mutable std::mutex mutex_;
  std::list<std::unique_ptr<PairRuntime>> pairs_;
  observability::MetricsRegistry registry_;
  std::optional<observability::HttpServer> http_;
  std::string http_listen_;
  config::LogConfig log_;
  std::vector<LeftoverSlot> leftovers_;  ///< guarded by mutex_
  StopSignal housekeeping_stop_;
  std::thread housekeeper_;
};

/// What decides whether a pair changed on reload: its configuration, including secrets
/// (password rotation restarts the pair), rendered to text.
std::string fingerprint(const config::PairConfig& pair);

}  // namespace modsync::daemon
