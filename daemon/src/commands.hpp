#pragma once

#include <csignal>
#include <string>

#include "modsync/kafka/dev_broker.hpp"

namespace modsync::daemon {

/// `modsync run`: runs every pair of the config until SIGTERM/SIGINT. Exit code 0 on a clean
/// stop, 2 when the config is invalid.
int run_command(const std::string& config_path);
/// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread (and the threads it starts later),
/// so that they wait for run_command's handling instead of ending the process; returns the set.
sigset_t block_daemon_signals();

/// `modsync validate`: loads and checks the config, prints what it understood (secrets
/// redacted). Exit code 0 when valid, 2 otherwise.
int validate_command(const std::string& config_path);

/// `modsync status`: per pair, state, positions, lag and last error, from the daemon's HTTP
/// /status at `url` (default: the config's daemon.http.listen) when it answers, else from the
/// checkpoint store and the source's slot. `json` prints the daemon's raw JSON (requires it to
/// run: exit 3 otherwise). Exit codes as in cli_support.hpp.
int status_command(const std::string& config_path, const std::string& url, bool json);

/// `modsync slots list`: each source's slot and other modsync_* slots of its database.
int slots_list_command(const std::string& config_path);

/// `modsync slots drop`: drops an inactive slot of the config's sources after confirmation on
/// stdin (or `yes`); refuses an active slot, naming the pid holding it.
int slots_drop_command(const std::string& config_path, const std::string& slot, bool yes);

/// `modsync checkpoint show`: CheckpointStore::describe() of every pair; refuses (exit 1) while
/// a daemon holds the state directory.
int checkpoint_show_command(const std::string& config_path);

/// `modsync resnapshot`: forgets the capture's snapshot of the pair's table(s) and empties their
/// projections, so the next start rebuilds them (docs/projections.md, "Rebuilding"). Exit code 0,
/// 1 when the daemon runs or a server refuses, 2 for a bad config, pair or table.
int resnapshot_command(const std::string& config_path, const std::string& pair_id,
                       const std::string& table);

}  // namespace modsync::daemon
