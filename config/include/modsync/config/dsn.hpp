#pragma once
// PostgreSQL connection strings (libpq conninfo "key=value …" or postgresql:// URIs) and the
// rule that their passwords never reach a log line or an error message.
//
// Every function here parses with libpq's own PQconninfoParse, so what counts as a password is
// what libpq will send as one: a URI's user-info password, a percent-encoded `passw%6Frd=` query
// parameter, a quoted value with escaped quotes. libpq's own parse errors can quote the text
// around the mistake (a bad %-escape quotes the whole password), so they are never passed on:
// each is described in modsync's words instead.

#include <string>
#include <string_view>
#include <vector>

namespace modsync::config {

/// What a connection is made with: the DSN as written and, when password_file is set, the
/// password read from it. The password stays apart from the DSN and reaches libpq as its own
/// `password` keyword, so it never passes through conninfo quoting or URI encoding.
/// Holds secrets: never print it; print `redact_dsn(dsn)`.
struct EffectiveDsn {
  std::string dsn;
  std::string password;  ///< "" = none beyond what `dsn` holds

  friend bool operator==(const EffectiveDsn&, const EffectiveDsn&) = default;
};

/// One keyword=value of a parsed DSN in libpq's terms: URI parts mapped to their keywords
/// (user-info to user/password, path to dbname), quoting and percent-encoding undone.
struct DsnOption {
  std::string keyword;
  std::string value;

  friend bool operator==(const DsnOption&, const DsnOption&) = default;
};

/// A DSN as libpq parses it: the options set, in libpq's order, or why it does not parse.
struct ParsedDsn {
  std::vector<DsnOption> options;
  /// Why the DSN does not parse, in words that never quote any part of it; "" when it parses.
  std::string error;

  /// The value of `keyword`, or nullptr when the DSN does not set it.
  const std::string* find(std::string_view keyword) const;
};

/// Parses `dsn` with PQconninfoParse. Pure apart from libpq's allocations; thread-safe.
ParsedDsn parse_dsn(std::string_view dsn);

/// True for the keywords whose values libpq treats as secrets (`password`, `sslpassword`).
bool is_secret_dsn_keyword(std::string_view keyword);

/// `dsn` as libpq understood it, in keyword=value form (host, hostaddr, port, dbname, user,
/// password first), with the value of every secret keyword replaced by "***": e.g.
/// postgresql://app:pw@db/orders → "host=db dbname=orders user=app password=***". A DSN that
/// does not parse is not shown at all. Safe on any input.
std::string redact_dsn(std::string_view dsn);

/// True when `dsn` carries a password (keyword, URI user-info or query parameter).
bool dsn_has_password(std::string_view dsn);

/// Describes why `dsn` is not well-formed conninfo or URI; empty when it is. The description
/// never quotes the DSN itself.
std::string dsn_syntax_error(std::string_view dsn);

/// Appends a libpq keyword to `dsn`: key=value (quoted when needed) for conninfo, ?key=value or
/// &key=value (percent-encoded) for a URI. A keyword already in `dsn` is not removed; libpq takes
/// the last. Used for fallback_application_name, never for secrets (EffectiveDsn keeps those).
std::string dsn_with_parameter(std::string_view dsn, std::string_view key, std::string_view value);

/// Returns `text` with every occurrence of `secret` replaced by "***", for messages from outside
/// (libpq's, a server's) that could echo a password. Secrets shorter than 3 characters are left
/// alone: masking them would garble every message and protect nothing.
std::string mask_secret(std::string_view text, std::string_view secret);

}  // namespace modsync::config
