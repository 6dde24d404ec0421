#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "modsync/testing/pg_conn.hpp"
#include "modsync/testing/temp_dir.hpp"

namespace modsync::testing {

/// A throwaway PostgreSQL 15 cluster in a TempDir, listening on 127.0.0.1 at a free port, with
/// settings for logical replication tests (wal_level=logical, fsync off, 20 slots/senders).
///
/// As root, initdb/pg_ctl run as the `postgres` OS user (PostgreSQL refuses root) and the
/// directory is handed to that user; otherwise they run as the current user.
///
/// Clean-up: the destructor stops the server with `pg_ctl -m immediate`. If the test process
/// dies first, the postmaster is sent SIGQUIT (immediate shutdown) from an atexit handler and
/// from handlers for SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGABRT, SIGSEGV, SIGBUS, SIGFPE and
/// SIGILL, which then re-raise the signal through the previously installed handler (Catch's).
/// Limits: SIGKILL of the test process cannot be caught, and a handler installed later by
/// someone else that does not chain to ours bypasses it; the postmaster then outlives the test
/// (its TempDir stays too); the postmaster notices its directory is
/// gone only if someone deletes it. At most 64 clusters per process are covered.
///
/// Threads: one thread at a time per object (start/stop/restart are not synchronised); exec,
/// query and query_value open their own connection per call, so with no concurrent stop/restart
/// they may be called from several threads. Every call blocks.
class PgCluster {
 public:
  struct Options {
    /// Appended after the defaults in postgresql.conf, so they override them
    /// (e.g. {"wal_level", "replica"}). Values are quoted for you.
    std::vector<std::pair<std::string, std::string>> settings;
    std::filesystem::path bin_dir = "/usr/lib/postgresql/15/bin";
    std::chrono::milliseconds start_timeout = std::chrono::seconds(60);
  };

  /// initdb + start. Throws std::runtime_error with initdb's or the server log's output.
  PgCluster();
  explicit PgCluster(Options options);
  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  std::string host() const { return "127.0.0.1"; }
  int port() const { return port_; }
  /// "host=127.0.0.1 port=P dbname=DB user=USER", a libpq conninfo string.
  std::string dsn(const std::string& db = "postgres", const std::string& user = "postgres") const;
  /// A libpq connection to `db` as postgres, e.g. to hold a transaction open.
  PgConn connect(const std::string& db = "postgres") const;

  void create_database(const std::string& name);
  /// Runs statements; throws PgError carrying the server's message.
  void exec(const std::string& db, const std::string& sql);
  PgRows query(const std::string& db, const std::string& sql);
  std::string query_value(const std::string& db, const std::string& sql);

  enum class StopMode { kFast, kImmediate };
  /// Stops the server (pg_ctl -w stop). A no-op when it is not running.
  void stop(StopMode mode = StopMode::kFast);
  /// Starts it again on the same port and data.
  void start();
  void restart(StopMode mode = StopMode::kFast);
  bool running() const { return postmaster_pid_ > 0; }

  const std::filesystem::path& data_dir() const { return data_dir_; }
  const std::filesystem::path& log_path() const { return log_path_; }
  /// The server log so far, for failure messages.
  std::string log_text() const;

 private:
  std::vector<std::string> as_postgres(std::vector<std::string> argv) const;
  void write_config();
  bool try_start();

  Options options_;
  TempDir dir_;
  std::filesystem::path data_dir_;
  std::filesystem::path log_path_;
  bool as_root_ = false;
  int port_ = 0;
  pid_t postmaster_pid_ = 0;
};

/// A free TCP port on 127.0.0.1 (bind to port 0, read it, close). Another process may take it
/// before the caller binds, so callers retry on a bind failure.
int free_port();

}  // namespace modsync::testing
