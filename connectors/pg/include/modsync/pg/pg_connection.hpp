#pragma once
// libpq behind move-only owners: the one place modsync talks to PostgreSQL as a client, used
// by the source connector and the sink. DSNs are read with PQconninfoParse (config::parse_dsn).

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <libpq-fe.h>

#include "modsync/common/error.hpp"
#include "modsync/config/dsn.hpp"

namespace modsync::pg {

/// A statement the server rejected, with its SQLSTATE (e.g. "23505"), so callers can tell
/// bad data (classes 22 and 23) from a broken schema or a lost connection.
class SqlError : public Error {
 public:
  SqlError(ErrorKind kind, std::string message, std::string sqlstate)
      : Error(kind, std::move(message)), sqlstate_(std::move(sqlstate)) {}
  const std::string& sqlstate() const { return sqlstate_; }
  /// Data exceptions and integrity violations: the row is at fault, not the database.
  bool is_data_error() const {
    return sqlstate_.rfind("22", 0) == 0 || sqlstate_.rfind("23", 0) == 0;
  }

 private:
  std::string sqlstate_;
};

/// Owns a buffer that libpq allocated (PQgetCopyData, PQescape*). Move-only.
struct PqFree {
  void operator()(void* p) const { PQfreemem(p); }
};
using PqBuffer = std::unique_ptr<char, PqFree>;

/// Owns a PGresult. Move-only.
class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(PGresult* r) : result_(r) {}
  PGresult* get() const { return result_.get(); }
  explicit operator bool() const { return result_ != nullptr; }
  ExecStatusType status() const { return PQresultStatus(result_.get()); }
  int rows() const { return PQntuples(result_.get()); }
  int columns() const { return PQnfields(result_.get()); }
  bool is_null(int row, int col) const { return PQgetisnull(result_.get(), row, col) != 0; }
  std::string_view value(int row, int col) const {
    return {PQgetvalue(result_.get(), row, col),
            static_cast<size_t>(PQgetlength(result_.get(), row, col))};
  }
  /// The server's SQLSTATE ("" when none), e.g. "55006" (object in use).
  std::string_view sqlstate() const;

 private:
  struct Deleter {
    void operator()(PGresult* r) const { PQclear(r); }
  };
  std::unique_ptr<PGresult, Deleter> result_;
};

/// Owns a PGconn, either a regular or a replication connection. Move-only; not thread-safe.
/// Every query helper throws modsync::Error naming `context_` (e.g. "source orders") and the
/// server's message; connection failures are retriable, SQL errors fatal unless stated.
class PgConnection {
 public:
  enum class Mode { kRegular, kReplication };

  /// Connects (blocking). `context` prefixes every error message, e.g. "source orders".
  /// The DSN is parsed with libpq's PQconninfoParse and each option, the password from
  /// `target.password` included, reaches PQconnectdbParams as its own keyword; no error quotes
  /// the password.
  static PgConnection connect(const config::EffectiveDsn& target, Mode mode, std::string context);

  PGconn* get() const { return conn_.get(); }
  const std::string& context() const { return context_; }

  /// Runs a statement without parameters and returns its result; throws unless it succeeded
  /// (PGRES_COMMAND_OK or PGRES_TUPLES_OK).
  PgResult exec(const std::string& sql);
  /// Runs a statement with text parameters (nullopt = NULL).
  PgResult exec_params(const std::string& sql, const std::vector<std::optional<std::string>>& params);
  /// Runs a query and returns the first column of the first row ("" if no rows).
  std::string query_value(const std::string& sql);
  /// Runs `copy_sql` (a COPY … FROM STDIN) and sends `data` in pieces libpq can take (its
  /// length argument is an int), then ends it. Throws like exec(): a row the server rejects is
  /// an SqlError carrying its SQLSTATE.
  void copy_in(const std::string& copy_sql, std::string_view data);
  /// Starts `copy_sql` (a COPY … TO STDOUT); read its rows with copy_out_row().
  void copy_out_begin(const std::string& copy_sql);
  /// The next row of the COPY started by copy_out_begin() (one whole row, its newline
  /// included, in `holder`, which libpq allocated), or false once the COPY ended; throws like
  /// exec() when the server reported an error.
  bool copy_out_row(PqBuffer& holder, std::string_view& row);

  /// Escapes an identifier ("public"."Orders") or a literal for SQL text.
  std::string quote_ident(std::string_view ident) const;
  std::string quote_literal(std::string_view literal) const;

  /// The server's last error message, trimmed.
  std::string last_error() const;

 private:
  struct Deleter {
    void operator()(PGconn* c) const { PQfinish(c); }
  };
  PgConnection(PGconn* c, std::string context) : conn_(c), context_(std::move(context)) {}
  [[noreturn]] void throw_result_error(const PgResult& r, const std::string& sql) const;

  std::unique_ptr<PGconn, Deleter> conn_;
  std::string context_;
};

}  // namespace modsync::pg
