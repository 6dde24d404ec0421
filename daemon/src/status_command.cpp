// `modsync status`: per pair, state, positions, lag and last error — from the running daemon's
// HTTP /status when it answers, else from the checkpoints and the source's slot.

#include <cstdio>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <httplib.h>
#include <simdjson.h>

#include "cli_support.hpp"
#include "commands.hpp"
#include "modsync/checkpoint/checkpoint_store.hpp"
#include "modsync/common/error.hpp"
#include "modsync/common/listen_address.hpp"
#include "modsync/common/time.hpp"
#include "modsync/pgsource/source_catalog.hpp"

namespace modsync::daemon {

namespace {

/// The URL at which the daemon of `pairs` serves HTTP, as `run` picks it (the first pair that
/// configures daemon.http.listen); nullopt when every pair disables it. A wildcard listen
/// address is reached through loopback.
std::optional<std::string> daemon_url(const std::vector<config::PairConfig>& pairs) {
  for (const auto& pair : pairs) {
    const std::string& listen = pair.daemon.http_listen;
    if (listen.empty()) continue;
    // The configuration was validated: the address parses.
    const auto address = parse_listen_address(listen);
    if (!address) continue;
    return fmt::format("http://{}:{}", address->connect_host(), address->port);
  }
  return std::nullopt;
}

struct Fetched {
  std::optional<std::string> body;  ///< the /status JSON when the daemon answered 200
  std::string failure;              ///< why not, for the operator
};

Fetched fetch_status(const std::string& url) {
  httplib::Client client(url);
  if (!client.is_valid()) return {std::nullopt, "not a valid URL"};
  client.set_connection_timeout(2, 0);
  client.set_read_timeout(5, 0);
  auto res = client.Get("/status");
  if (!res) {
    // httplib's own names ("Connection") are too terse for an operator.
    switch (res.error()) {
      case httplib::Error::Connection:
        return {std::nullopt, "cannot connect: nothing listens there"};
      case httplib::Error::ConnectionTimeout:
        return {std::nullopt, "connection timed out"};
      case httplib::Error::Read:
        return {std::nullopt, "no answer to GET /status"};
      default:
        return {std::nullopt, httplib::to_string(res.error())};
    }
  }
  if (res->status != 200) {
    return {std::nullopt, fmt::format("it answered /status with HTTP {}", res->status)};
  }
  return {res->body, ""};
}

std::string str_field(simdjson::dom::object o, std::string_view key) {
  std::string_view v;
  if (o[key].get(v) != simdjson::SUCCESS) return "";
  return std::string(v);
}

std::string int_field(simdjson::dom::object o, std::string_view key) {
  int64_t v = 0;
  if (o[key].get(v) != simdjson::SUCCESS) return "-";
  return std::to_string(v);
}

std::string format_unix_ms(int64_t ms) {
  return ms == 0 ? "never" : format_rfc3339_ms(ms);
}

/// A pipeline state that `modsync status` reports with kExitUnhealthy.
bool unhealthy_state(std::string_view state) {
  return state == "retrying" || state == "failed" || state == "paused" || state == "stalled";
}

/// What the daemon's /status says: the pairs it runs and whether any pipeline is unhealthy.
struct StatusSeen {
  std::set<std::string> pairs;
  bool unhealthy = false;
};

/// True when some pipeline of the /status JSON is retrying, failed, paused or stalled.
std::optional<bool> any_unhealthy(const std::string& body) {
  simdjson::dom::parser parser;
  simdjson::dom::array pairs;
  if (parser.parse(simdjson::padded_string(body))["pairs"].get(pairs) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  for (simdjson::dom::element e : pairs) {
    std::string_view state;
    if (e["state"].get(state) == simdjson::SUCCESS && unhealthy_state(state)) return true;
  }
  return false;
}

std::string bool_field(simdjson::dom::object o, std::string_view key) {
  bool v = false;
  if (o[key].get(v) != simdjson::SUCCESS) return "-";
  return v ? "yes" : "no";
}

/// Under a capture's row: each table its snapshot is reading, rows read against the catalog's
/// estimate (tables done are not shown; `--json` has them).
void print_snapshot_progress(simdjson::dom::object capture) {
  simdjson::dom::array tables;
  if (capture["snapshot_tables"].get(tables) != simdjson::SUCCESS) return;
  for (simdjson::dom::element e : tables) {
    simdjson::dom::object t;
    bool done = false;
    uint64_t rows = 0, estimated = 0;
    if (e.get(t) != simdjson::SUCCESS || t["done"].get(done) != simdjson::SUCCESS || done ||
        t["rows"].get(rows) != simdjson::SUCCESS ||
        t["rows_estimated"].get(estimated) != simdjson::SUCCESS) {
      continue;
    }
    const uint64_t percent = estimated == 0 ? 0 : rows * 100 / estimated;
    std::printf("  snapshot %s: %llu of ~%llu rows (%llu%%)\n", str_field(t, "table").c_str(),
                static_cast<unsigned long long>(rows), static_cast<unsigned long long>(estimated),
                static_cast<unsigned long long>(percent));
  }
}

/// Prints the daemon's /status JSON as a table; returns the pairs it reported.
std::optional<StatusSeen> print_status_table(const std::string& body) {
  simdjson::dom::parser parser;
  simdjson::dom::array pairs;
  if (parser.parse(simdjson::padded_string(body))["pairs"].get(pairs) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  StatusSeen seen;
  std::printf("%-24s %-32s %-13s %-14s %-14s %-24s %7s\n", "PAIR", "PIPELINE", "STATE",
              "RECEIVED_LSN", "CONFIRMED_LSN", "LAG", "RETRIES");
  std::vector<std::string> errors;
  for (simdjson::dom::element e : pairs) {
    simdjson::dom::object o;
    if (e.get(o) != simdjson::SUCCESS) return std::nullopt;
    const std::string pair = str_field(o, "pair");
    seen.pairs.insert(pair);
    const std::string state = str_field(o, "state");
    seen.unhealthy = seen.unhealthy || unhealthy_state(state);
    const bool capture = !str_field(o, "module").empty();
    const std::string pipeline =
        capture ? "capture " + str_field(o, "module") : "apply " + str_field(o, "projection");
    const std::string lag =
        capture
            ? int_field(o, "lag_bytes") + " bytes"
            : fmt::format("{} ms, {} events{}", int_field(o, "lag_ms"), int_field(o, "lag_events"),
                          bool_field(o, "caught_up") == "yes" ? "" : " (behind)");
    std::printf("%-24s %-32s %-13s %-14s %-14s %-24s %7s\n", pair.c_str(), pipeline.c_str(),
                str_field(o, "state").c_str(), capture ? str_field(o, "received_lsn").c_str() : "-",
                capture ? str_field(o, "confirmed_lsn").c_str() : "-", lag.c_str(),
                int_field(o, "retries").c_str());
    if (capture) print_snapshot_progress(o);
    if (const auto error = str_field(o, "last_error"); !error.empty()) {
      int64_t at = 0;
      if (o["last_error_unix_ms"].get(at) != simdjson::SUCCESS) at = 0;
      errors.push_back(
          fmt::format("{} {}: last error at {}: {}", pair, pipeline, format_unix_ms(at), error));
    }
  }
  for (const auto& line : errors) std::printf("%s\n", line.c_str());
  return seen;
}

/// Prints what the checkpoint store of `pair` holds. Returns false when it could not be read.
bool print_checkpoints(const config::PairConfig& pair, const std::string& config_path) {
  const auto path = pair.daemon.state_path();
  std::error_code ec;
  // Opening the store would create it; a status query must leave no trace.
  if (!std::filesystem::exists(path, ec)) {
    std::printf(
        "  checkpoints: none (%s does not exist: modsync has not run with this daemon.id "
        "and state_dir)\n",
        path.c_str());
    return true;
  }
  try {
    const checkpoint::CheckpointStore store(pair.daemon.state_dir, pair.daemon.id);
    std::printf("  checkpoints: %s\n", path.c_str());
    if (pair.source) {
      if (const auto s = store.load_source()) {
        std::printf("    source: acked position %s, confirmed LSN %s, updated %s\n",
                    s->acked.to_string().c_str(), s->confirmed.to_string().c_str(),
                    format_unix_ms(s->updated_unix_ms).c_str());
      } else {
        std::printf("    source: no checkpoint yet (nothing captured)\n");
      }
      for (const auto& p : store.list_snapshot_progress()) {
        std::printf("    snapshot %s.%s: %s, %llu rows%s\n", p.schema.c_str(), p.table.c_str(),
                    p.done ? "done" : "in progress", static_cast<unsigned long long>(p.rows),
                    p.done ? "" : fmt::format(", resumes after key {}", p.last_key_json).c_str());
      }
      for (const auto& v : store.load_schema_versions()) {
        std::printf("    schema %s.%s: version %u since %s\n", v.schema.c_str(), v.table.c_str(),
                    v.version, v.since.to_string().c_str());
      }
    }
    if (pair.sink) {
      for (const auto& projection : pair.sink->projections) {
        // The apply pipeline records its offsets under "<daemon.id>/<target table>".
        const std::string group = pair.daemon.id + "/" + projection.to.qualified();
        const auto offsets = store.load_sink_offsets(group);
        if (offsets.empty()) {
          std::printf("    projection %s: no offsets yet (nothing applied)\n",
                      projection.to.qualified().c_str());
        }
        for (const auto& o : offsets) {
          std::printf("    projection %s: %s[%d] next offset %lld\n",
                      projection.to.qualified().c_str(), o.topic.c_str(), o.partition.value,
                      static_cast<long long>(o.offset.value));
        }
      }
    }
    return true;
  } catch (const Error& e) {
    std::printf("  checkpoints: unreadable (the error is on stderr)\n");
    const std::string what = e.what();
    if (what.find("in use by another modsync process") != std::string::npos) {
      std::fprintf(stderr,
                   "modsync: pair %s: %s. The daemon is running but its HTTP endpoint did not "
                   "answer. Fix: set daemon.http.listen in %s (and restart it), or pass --url "
                   "with the address it listens on.\n",
                   pair.daemon.id.c_str(), what.c_str(), config_path.c_str());
    } else {
      std::fprintf(stderr, "modsync: pair %s: %s\n", pair.daemon.id.c_str(), what.c_str());
    }
    return false;
  }
}

/// Prints the source's slot row. Returns false when the source could not be reached.
bool print_slot(const config::SourceConfig& src) {
  try {
    auto conn = connect_source(src);
    const auto rows = pgsource::SourceCatalog(conn).modsync_slots(src.slot);
    if (rows.empty() || rows.front().name != src.slot) {
      std::printf("  slot %s: does not exist (`modsync run` creates it at start)\n",
                  src.slot.c_str());
      return true;
    }
    const auto& s = rows.front();
    std::printf(
        "  slot %s: %s, confirmed_flush_lsn %s, wal_status %s, lag %s bytes, safe_wal_size %s\n",
        s.name.c_str(),
        s.active ? fmt::format("active (pid {})", s.active_pid.value_or(0)).c_str() : "inactive",
        s.confirmed_flush_lsn.empty() ? "-" : s.confirmed_flush_lsn.c_str(),
        s.wal_status.empty() ? "-" : s.wal_status.c_str(),
        s.lag_bytes ? std::to_string(*s.lag_bytes).c_str() : "-",
        s.wal_status == "lost" ? "0 (lost: WAL removed; see docs/runbook.md)"
        : s.safe_wal_size      ? std::to_string(*s.safe_wal_size).c_str()
                               : "unlimited");
    return true;
  } catch (const Error& e) {
    std::printf("  slot %s: source unreachable (the error is on stderr)\n", src.slot.c_str());
    std::fprintf(stderr, "modsync: %s\n", e.what());
    return false;
  }
}

}  // namespace

int status_command(const std::string& config_path, const std::string& url_option, bool json) {
  const auto pairs = load_config_or_report(config_path);
  if (!pairs) return kExitUsage;

  const std::optional<std::string> url = url_option.empty() ? daemon_url(*pairs) : url_option;
  Fetched fetched;
  if (url) {
    fetched = fetch_status(*url);
    if (fetched.failure == "not a valid URL") {
      std::fprintf(stderr,
                   "modsync: --url %s is not a valid URL. Fix: write it as http://HOST:PORT.\n",
                   url->c_str());
      return kExitUsage;
    }
  } else {
    fetched.failure = "daemon.http.listen is \"\" in every pair and no --url was given";
  }

  if (fetched.body) {
    if (json) {
      std::printf("%s\n", fetched.body->c_str());
      return any_unhealthy(*fetched.body).value_or(false) ? kExitUnhealthy : kExitOk;
    }
    std::printf("daemon: running, status from %s/status\n\n", url->c_str());
    const auto seen = print_status_table(*fetched.body);
    if (!seen) {
      std::fprintf(stderr,
                   "modsync: %s/status did not answer modsync's status JSON: is another service "
                   "listening there? Fix: pass --url with the address of the modsync daemon.\n",
                   url->c_str());
      return kExitRuntime;
    }
    // A pair the daemon does not run (removed from its config and reloaded, or a daemon of
    // another config on that port) is shown from its checkpoints and slot instead.
    int rc = seen->unhealthy ? kExitUnhealthy : kExitOk;
    for (const auto& pair : *pairs) {
      if (seen->pairs.contains(pair.daemon.id)) continue;
      std::printf("\npair %s: not run by the daemon at %s; from its checkpoints and slot\n",
                  pair.daemon.id.c_str(), url->c_str());
      if (!print_checkpoints(pair, config_path)) rc = kExitRuntime;
      if (pair.source && !print_slot(*pair.source)) rc = kExitRuntime;
    }
    return rc;
  }

  const std::string where =
      url ? fmt::format("at {} ({})", *url, fetched.failure) : fmt::format("({})", fetched.failure);
  if (json) {
    std::fprintf(stderr,
                 "modsync: the daemon is not answering %s; --json prints only a running daemon's "
                 "/status. Fix: start it (`modsync run --config %s`), pass --url with its "
                 "address, or drop --json to read the checkpoints and slots.\n",
                 where.c_str(), config_path.c_str());
    return kExitNotRunning;
  }
  std::printf("daemon: not answering %s; showing checkpoints and replication slots\n\n",
              where.c_str());
  int rc = kExitOk;
  for (const auto& pair : *pairs) {
    std::printf("pair %s\n", pair.daemon.id.c_str());
    if (!print_checkpoints(pair, config_path)) rc = kExitRuntime;
    if (pair.source && !print_slot(*pair.source)) rc = kExitRuntime;
    std::printf("\n");
  }
  return rc;
}

}  // namespace modsync::daemon
