#pragma once
// What the operator subcommands (status, slots, checkpoint) share: exit codes, config loading,
// and the source slot query. Private to the daemon target.

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "modsync/config/config.hpp"
#include "modsync/config/config_error.hpp"
#include "modsync/pg/pg_connection.hpp"

namespace modsync::daemon {

/// Exit codes of the operator subcommands (docs/operations.md, "Command line").
inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntime = 1;     ///< unreachable server, refused operation
inline constexpr int kExitUsage = 2;       ///< invalid config or command line
inline constexpr int kExitNotRunning = 3;  ///< the command needs a running daemon
inline constexpr int kExitUnhealthy = 4;   ///< status: a pipeline is retrying, failed, paused or stalled

/// Loads the config at `path`; on an invalid config prints its errors to stderr and returns
/// nullopt (the caller exits with kExitUsage).
inline std::optional<std::vector<config::PairConfig>> load_config_or_report(
    const std::string& path) {
  try {
    return config::load_path(path);
  } catch (const config::ConfigError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    std::fprintf(stderr,
                 "modsync: the config %s is invalid. Fix: correct the lines above; "
                 "`modsync validate %s` checks it.\n",
                 path.c_str(), path.c_str());
    return std::nullopt;
  }
}

/// Connects to a pair's source database (regular connection) with a short connect timeout, so an
/// unreachable host fails in seconds. Throws modsync::Error naming the module and the fix.
pg::PgConnection connect_source(const config::SourceConfig& source);

}  // namespace modsync::daemon
