#pragma once

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

struct pg_conn;
struct pg_result;

namespace modsync::testing {

/// Rows of a query result; NULL is nullopt. Text format, as psql shows it.
using PgRows = std::vector<std::vector<std::optional<std::string>>>;

/// Thrown when the server rejects a statement or a connection fails; what() carries the
/// server's message and the SQL.
class PgError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A blocking libpq connection for tests. Owns the PGconn (move-only); one thread at a time.
/// Test support only: production code uses the postgres connector.
class PgConn {
 public:
  /// Connects with a conninfo string; throws PgError with libpq's message on failure.
  explicit PgConn(const std::string& conninfo);
  ~PgConn();
  PgConn(PgConn&&) noexcept;
  PgConn& operator=(PgConn&&) noexcept;
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  /// Runs one or more statements (simple query protocol); throws PgError on the first error.
  void exec(const std::string& sql);
  /// Runs the statements and returns the rows of the last one.
  PgRows query(const std::string& sql);
  /// The first column of the first row; throws PgError when there is none or it is NULL.
  std::string query_value(const std::string& sql);

  pg_conn* get() const { return conn_.get(); }

 private:
  struct Deleter {
    void operator()(pg_conn* c) const;
  };
  std::unique_ptr<pg_conn, Deleter> conn_;
};

}  // namespace modsync::testing
