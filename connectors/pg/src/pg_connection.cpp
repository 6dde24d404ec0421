#include "modsync/pg/pg_connection.hpp"

#include <algorithm>

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

PgConnection PgConnection::connect(const config::EffectiveDsn& target, Mode mode,
                                   std::string context) {
  config::ParsedDsn parsed = config::parse_dsn(target.dsn);
  // The loader rejects such a DSN; a DSN that reaches us unchecked gets the same safe words.
  if (!parsed.error.empty()) fail("{}: the dsn does not parse: {}", context, parsed.error);
  const auto set = [&](std::string_view keyword, std::string value) {
    for (auto& o : parsed.options) {
      if (o.keyword == keyword) {
        o.value = std::move(value);
        return;
      }
    }
    parsed.options.push_back(config::DsnOption{std::string(keyword), std::move(value)});
  };
  if (!target.password.empty()) set("password", target.password);
  if (mode == Mode::kReplication) set("replication", "database");
  // Values are read and written in PostgreSQL's default text forms (docs/events.md, "Type
  // mapping"). A database or role whose defaults differ printed 2026-03-08 as 08/03/2026
  // (DateStyle SQL, DMY; a sink in MDY read August 3) and -(1 day 02:03:04) as '-1 2:03:04'
  // (IntervalStyle sql_standard; read back as -1 day +02:03:04). After the DSN's own options,
  // so these win; DateStyle ISO keeps the session's field order for reading other text.
  const std::string* given = parsed.find("options");
  set("options", (given ? *given + " " : std::string()) +
                     "-c DateStyle=ISO -c IntervalStyle=postgres -c extra_float_digits=1");
  // The daemon puts "modsync-<daemon.id>" in each pair's DSN, so its walsenders tell apart in
  // pg_stat_replication; an application_name in the DSN wins over both.
  if (parsed.find("fallback_application_name") == nullptr) {
    set("fallback_application_name", "modsync");
  }
  std::vector<const char*> keys, values;
  for (const auto& o : parsed.options) {
    keys.push_back(o.keyword.c_str());
    values.push_back(o.value.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  // expand_dbname=0: every value is taken as it is, already parsed by libpq's own grammar.
  PGconn* raw = PQconnectdbParams(keys.data(), values.data(), 0);
  PgConnection conn(raw, std::move(context));
  if (raw == nullptr)
    fail_retriable("{}: out of memory allocating a libpq connection", conn.context_);
  // Server notices ("schema already exists, skipping") would reach stderr unformatted.
  PQsetNoticeProcessor(
      raw, [](void*, const char*) {}, nullptr);
  if (PQstatus(raw) != CONNECTION_OK) {
    // A server or libpq message has no reason to quote the password; make sure it cannot.
    const std::string* password = parsed.find("password");
    const std::string msg =
        password ? config::mask_secret(conn.last_error(), *password) : conn.last_error();
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
                            conn.context_, config::redact_dsn(target.dsn), msg,
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

void PgConnection::copy_in(const std::string& copy_sql, std::string_view data) {
  constexpr size_t kPiece = size_t{1} << 20;
  PgResult start(PQexec(conn_.get(), copy_sql.c_str()));
  if (!start || start.status() != PGRES_COPY_IN) throw_result_error(start, copy_sql);
  bool sent = true;
  for (size_t at = 0; sent && at < data.size(); at += kPiece) {
    const size_t n = std::min(kPiece, data.size() - at);
    sent = PQputCopyData(conn_.get(), data.data() + at, static_cast<int>(n)) == 1;
  }
  if (!sent || PQputCopyEnd(conn_.get(), nullptr) != 1) {
    fail_retriable("{}: sending COPY data failed: {}", context_, last_error());
  }
  // The server's verdict on the data comes as the COPY's result.
  std::optional<PgResult> failed;
  for (;;) {
    PgResult r(PQgetResult(conn_.get()));
    if (!r) break;
    if (r.status() != PGRES_COMMAND_OK && !failed) failed.emplace(std::move(r));
  }
  if (failed) throw_result_error(*failed, copy_sql);
}

void PgConnection::copy_out_begin(const std::string& copy_sql) {
  PgResult start(PQexec(conn_.get(), copy_sql.c_str()));
  if (!start || start.status() != PGRES_COPY_OUT) throw_result_error(start, copy_sql);
}

bool PgConnection::copy_out_row(PqBuffer& holder, std::string_view& row) {
  char* buffer = nullptr;
  const int n = PQgetCopyData(conn_.get(), &buffer, 0);
  holder.reset(buffer);
  if (n >= 0) {
    row = {buffer, static_cast<size_t>(n)};
    return true;
  }
  if (n == -2) fail_retriable("{}: reading COPY data failed: {}", context_, last_error());
  // -1: the COPY ended; its result says whether it succeeded.
  std::optional<PgResult> failed;
  for (;;) {
    PgResult r(PQgetResult(conn_.get()));
    if (!r) break;
    if (r.status() != PGRES_COMMAND_OK && !failed) failed.emplace(std::move(r));
  }
  if (failed) throw_result_error(*failed, "COPY … TO STDOUT");
  return false;
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
