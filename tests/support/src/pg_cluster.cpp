#include "modsync/testing/pg_cluster.hpp"

#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "cleanup_registry.hpp"
#include "modsync/testing/child_process.hpp"

namespace modsync::testing {
namespace {

std::string quote_literal(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out.push_back(c);
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

std::string quote_ident(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out.push_back(c);
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

/// A libpq conninfo value, quoted only when it has to be.
std::string conninfo_value(const std::string& value) {
  if (!value.empty() && value.find_first_of(" '\\\t\n") == std::string::npos) return value;
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void chown_tree_to_postgres(const std::filesystem::path& root) {
  const passwd* pw = ::getpwnam("postgres");
  if (pw == nullptr) {
    throw std::runtime_error(
        "PgCluster: running as root needs the 'postgres' OS user (PostgreSQL refuses root)");
  }
  if (::chown(root.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
    throw std::runtime_error(
        fmt::format("PgCluster: chown {}: {}", root.string(), std::strerror(errno)));
  }
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (::lchown(entry.path().c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      throw std::runtime_error(
          fmt::format("PgCluster: chown {}: {}", entry.path().string(), std::strerror(errno)));
    }
  }
}

}  // namespace

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(fmt::format("socket: {}", std::strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int err = errno;
    ::close(fd);
    throw std::runtime_error(fmt::format("binding 127.0.0.1:0: {}", std::strerror(err)));
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

PgCluster::PgCluster() : PgCluster(Options{}) {}

PgCluster::PgCluster(Options options)
    : options_(std::move(options)),
      dir_("modsync-pg"),
      data_dir_(dir_.path() / "data"),
      log_path_(dir_.path() / "postgres.log"),
      as_root_(::geteuid() == 0) {
  // The socket lives in dir_: its path must fit sockaddr_un (107 bytes).
  if ((dir_.path() / ".s.PGSQL.65535").string().size() > 100) {
    throw std::runtime_error(fmt::format(
        "PgCluster: {} is too long for a unix socket path; set TMPDIR to a shorter directory",
        dir_.path().string()));
  }
  if (as_root_) chown_tree_to_postgres(dir_.path());
  ChildProcess::Options run_opts;
  run_opts.cwd = dir_.path();  // the postgres user must be able to read its working directory
  const auto initdb =
      run_command(as_postgres({(options_.bin_dir / "initdb").string(), "-D", data_dir_.string(),
                               "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8",
                               "--no-sync", "--no-instructions"}),
                  run_opts, options_.start_timeout);
  if (initdb.status != 0) {
    throw std::runtime_error(
        fmt::format("initdb failed with status {}:\n{}{}", initdb.status, initdb.out, initdb.err));
  }
  {
    std::ofstream conf(data_dir_ / "postgresql.conf", std::ios::app);
    conf << "\ninclude 'modsync_test.conf'\n";
  }
  start();
}

PgCluster::~PgCluster() {
  try {
    stop(StopMode::kImmediate);
  } catch (...) {
    // Nothing to report to from a destructor; make sure the server goes away regardless.
    if (postmaster_pid_ > 0) {
      ::kill(postmaster_pid_, SIGQUIT);
      cleanup::remove_postmaster(postmaster_pid_);
    }
  }
}

std::vector<std::string> PgCluster::as_postgres(std::vector<std::string> argv) const {
  if (!as_root_) return argv;
  std::vector<std::string> wrapped = {"runuser", "-u", "postgres", "--"};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

void PgCluster::write_config() {
  std::vector<std::pair<std::string, std::string>> settings = {
      {"wal_level", "logical"},
      {"max_replication_slots", "20"},
      {"max_wal_senders", "20"},
      {"fsync", "off"},
      {"synchronous_commit", "on"},
      {"full_page_writes", "off"},
      {"listen_addresses", "127.0.0.1"},
      {"port", std::to_string(port_)},
      {"unix_socket_directories", dir_.path().string()},
      {"shared_buffers", "128MB"},
  };
  settings.insert(settings.end(), options_.settings.begin(), options_.settings.end());
  const auto path = data_dir_ / "modsync_test.conf";
  {
    std::ofstream conf(path, std::ios::trunc);
    for (const auto& [name, value] : settings)
      conf << name << " = " << quote_literal(value) << "\n";
    if (!conf) throw std::runtime_error("PgCluster: cannot write " + path.string());
  }
  if (as_root_) chown_tree_to_postgres(dir_.path());
}

bool PgCluster::try_start() {
  write_config();
  ChildProcess::Options run_opts;
  run_opts.cwd = dir_.path();
  const auto timeout_s = std::chrono::duration_cast<std::chrono::seconds>(options_.start_timeout);
  const auto result = run_command(
      as_postgres({(options_.bin_dir / "pg_ctl").string(), "-D", data_dir_.string(), "-l",
                   log_path_.string(), "-w", "-t", std::to_string(timeout_s.count()), "start"}),
      run_opts, options_.start_timeout + std::chrono::seconds(10));
  if (result.status == 0) {
    std::ifstream pidfile(data_dir_ / "postmaster.pid");
    pid_t pid = 0;
    if (!(pidfile >> pid) || pid <= 0) {
      throw std::runtime_error("PgCluster: started, but postmaster.pid is unreadable");
    }
    postmaster_pid_ = pid;
    cleanup::add_postmaster(pid);
    return true;
  }
  if (log_text().find("could not bind") != std::string::npos) return false;  // port taken
  throw std::runtime_error(fmt::format("pg_ctl start failed with status {}:\n{}{}\n--- {} ---\n{}",
                                       result.status, result.out, result.err, log_path_.string(),
                                       log_text()));
}

void PgCluster::start() {
  if (running()) return;
  // Keep the port across restarts so that DSNs handed out stay valid; pick a new one only when
  // it turns out to be taken.
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (port_ == 0 || attempt > 0) port_ = free_port();
    if (try_start()) return;
  }
  throw std::runtime_error(
      fmt::format("PgCluster: no free port after 5 attempts; log:\n{}", log_text()));
}

void PgCluster::stop(StopMode mode) {
  if (!running()) return;
  ChildProcess::Options run_opts;
  run_opts.cwd = dir_.path();
  const auto result =
      run_command(as_postgres({(options_.bin_dir / "pg_ctl").string(), "-D", data_dir_.string(),
                               "-m", mode == StopMode::kFast ? "fast" : "immediate", "-w", "stop"}),
                  run_opts, std::chrono::seconds(70));
  if (result.status != 0) {
    throw std::runtime_error(fmt::format("pg_ctl stop failed with status {}:\n{}{}", result.status,
                                         result.out, result.err));
  }
  cleanup::remove_postmaster(postmaster_pid_);
  postmaster_pid_ = 0;
}

void PgCluster::restart(StopMode mode) {
  stop(mode);
  start();
}

std::string PgCluster::dsn(const std::string& db, const std::string& user) const {
  return fmt::format("host=127.0.0.1 port={} dbname={} user={}", port_, conninfo_value(db),
                     conninfo_value(user));
}

PgConn PgCluster::connect(const std::string& db) const {
  return PgConn(dsn(db));
}

void PgCluster::create_database(const std::string& name) {
  exec("postgres", "CREATE DATABASE " + quote_ident(name));
}

void PgCluster::exec(const std::string& db, const std::string& sql) {
  connect(db).exec(sql);
}

PgRows PgCluster::query(const std::string& db, const std::string& sql) {
  return connect(db).query(sql);
}

std::string PgCluster::query_value(const std::string& db, const std::string& sql) {
  return connect(db).query_value(sql);
}

std::string PgCluster::log_text() const {
  return read_file(log_path_);
}

}  // namespace modsync::testing
