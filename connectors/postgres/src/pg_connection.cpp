#include "modsync/postgres/pg_connection.hpp"

#include "modsync/common/error.hpp"
#include "modsync/config/dsn.hpp"

namespace modsync::pg {

namespace {
std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}
}  // namespace

std::string_view PgResult::sqlstate() const {
  const char* s = PQresultErrorField(result_.get(), PG_DIAG_SQLSTATE);
  return s ? std::string_view{s} : std::string_view{};
}

PgConnection PgConnection::connect(const std::string& dsn, Mode mode, std::string context) {
  // fallback_application_name comes before dbname, so one in the DSN (the daemon sets
  // "modsync-<daemon.id>" per pair, making its walsenders tell apart in pg_stat_replication)
  // wins over this default; an application_name in the DSN wins over both.
  const char* keys[] = {"fallback_application_name", "dbname", "replication", nullptr};
  const char* values[] = {"modsync", dsn.c_str(),
                          mode == Mode::kReplication ? "database" : nullptr, nullptr};
  // expand_dbname=1: `dsn` is a full conninfo string or URI.
  PGconn* raw = PQconnectdbParams(keys, values, 1);
  PgConnection conn(raw, std::move(context));
  if (raw == nullptr)
    fail_retriable("{}: out of memory allocating a libpq connection", conn.context_);
  // Server notices ("schema already exists, skipping") would reach stderr unformatted.
  PQsetNoticeProcessor(raw, [](void*, const char*) {}, nullptr);
  if (PQstatus(raw) != CONNECTION_OK) {
    const std::string msg = conn.last_error();
    const bool auth = msg.find("password authentication failed") != std::string::npos ||
                      msg.find("no pg_hba.conf entry") != std::string::npos;
    const bool repl_denied = msg.find("must have replication") != std::string::npos ||
                             msg.find("must be superuser or replication") != std::string::npos;
    if (repl_denied) {
      fail(
          "{}: the role lacks the REPLICATION attribute ({}). Fix: ALTER ROLE <user> REPLICATION; "
          "as a superuser, or connect as a role that has it.",
          conn.context_, msg);
    }
    throw Error(auth ? ErrorKind::kFatal : ErrorKind::kRetriable,
                fmt::format("{}: cannot connect to PostgreSQL ({}): {}. Fix: check the dsn, that "
                            "the server is running and that pg_hba.conf admits this host and user"
                            "{}.",
                            conn.context_, config::redact_dsn(dsn), msg,
                            mode == Mode::kReplication ? " for replication connections" : ""));
  }
  return conn;
}

std::string PgConnection::last_error() const {
  return trim(PQerrorMessage(conn_.get()));
}

void PgConnection::throw_result_error(const PgResult& r, const std::string& sql) const {
  std::string msg = r ? trim(PQresultErrorMessage(r.get())) : last_error();
  if (PQstatus(conn_.get()) != CONNECTION_OK) {
    fail_retriable("{}: connection lost: {}", context_, msg);
  }
  std::string shown = sql.size() > 200 ? sql.substr(0, 200) + "…" : sql;
  throw SqlError(ErrorKind::kFatal,
                 fmt::format("{}: statement failed: {} (statement: {})", context_, msg, shown),
                 std::string(r.sqlstate()));
}

PgResult PgConnection::exec(const std::string& sql) {
  PgResult r(PQexec(conn_.get(), sql.c_str()));
  if (!r || (r.status() != PGRES_COMMAND_OK && r.status() != PGRES_TUPLES_OK)) {
    throw_result_error(r, sql);
  }
  return r;
}

PgResult PgConnection::exec_params(const std::string& sql,
                                   const std::vector<std::optional<std::string>>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  PgResult r(PQexecParams(conn_.get(), sql.c_str(), static_cast<int>(values.size()), nullptr,
                          values.data(), nullptr, nullptr, 0));
  if (!r || (r.status() != PGRES_COMMAND_OK && r.status() != PGRES_TUPLES_OK)) {
    throw_result_error(r, sql);
  }
  return r;
}

std::string PgConnection::query_value(const std::string& sql) {
  PgResult r = exec(sql);
  if (r.rows() == 0 || r.columns() == 0 || r.is_null(0, 0)) return {};
  return std::string(r.value(0, 0));
}

std::string PgConnection::quote_ident(std::string_view ident) const {
  PqBuffer b(PQescapeIdentifier(conn_.get(), ident.data(), ident.size()));
  if (!b) fail("{}: cannot quote identifier {}: {}", context_, ident, last_error());
  return std::string(b.get());
}

std::string PgConnection::quote_literal(std::string_view literal) const {
  PqBuffer b(PQescapeLiteral(conn_.get(), literal.data(), literal.size()));
  if (!b) fail("{}: cannot quote literal: {}", context_, last_error());
  return std::string(b.get());
}

}  // namespace modsync::pg
