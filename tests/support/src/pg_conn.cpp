#include "modsync/testing/pg_conn.hpp"

#include <libpq-fe.h>

#include <fmt/format.h>

namespace modsync::testing {
namespace {

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

std::string trimmed(const char* message) {
  std::string s = message ? message : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

void PgConn::Deleter::operator()(pg_conn* c) const {
  PQfinish(c);
}

PgConn::PgConn(const std::string& conninfo) : conn_(PQconnectdb(conninfo.c_str())) {
  if (!conn_) throw PgError("PQconnectdb: out of memory");
  if (PQstatus(conn_.get()) != CONNECTION_OK) {
    throw PgError(
        fmt::format("cannot connect ({}): {}", conninfo, trimmed(PQerrorMessage(conn_.get()))));
  }
}

PgConn::~PgConn() = default;
PgConn::PgConn(PgConn&&) noexcept = default;
PgConn& PgConn::operator=(PgConn&&) noexcept = default;

void PgConn::exec(const std::string& sql) {
  query(sql);
}

PgRows PgConn::query(const std::string& sql) {
  // PQexec keeps only the last result but stops at the first error, whose message it returns.
  PgResult result(PQexec(conn_.get(), sql.c_str()));
  const auto status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    const std::string message =
        result ? trimmed(PQresultErrorMessage(result.get())) : trimmed(PQerrorMessage(conn_.get()));
    throw PgError(fmt::format("{} (SQL: {})", message, sql));
  }
  PgRows rows;
  const int n = PQntuples(result.get());
  const int cols = PQnfields(result.get());
  rows.reserve(n);
  for (int r = 0; r < n; ++r) {
    auto& row = rows.emplace_back();
    for (int c = 0; c < cols; ++c) {
      if (PQgetisnull(result.get(), r, c)) {
        row.emplace_back(std::nullopt);
      } else {
        row.emplace_back(std::string(PQgetvalue(result.get(), r, c),
                                     static_cast<size_t>(PQgetlength(result.get(), r, c))));
      }
    }
  }
  return rows;
}

std::string PgConn::query_value(const std::string& sql) {
  const PgRows rows = query(sql);
  if (rows.empty() || rows[0].empty()) throw PgError(fmt::format("no rows (SQL: {})", sql));
  if (!rows[0][0]) throw PgError(fmt::format("value is NULL (SQL: {})", sql));
  return *rows[0][0];
}

}  // namespace modsync::testing
